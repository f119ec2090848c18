import ArtifactStore
import Foundation
import Hummingbird
import Identifiers
import Orchestrator

/// The submitter's and the operator's view of builds.
extension Gateway {
    /// The `:id` of the path when it is a valid build id, else a value no build has (so authentication runs
    /// first and an unknown or malformed id is a 404 only for an authenticated caller).
    func pathBuildID(_ context: GatewayRequestContext) -> String {
        context.parameters.get("id").flatMap { BuildID($0)?.rawValue } ?? ""
    }

    func existingBuild(_ id: String) async throws -> BuildRecord {
        guard let build = try await orchestrator.build(id) else { throw GatewayError.notFound("Build not found") }
        return build
    }

    func listBuilds(_ request: Request, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let parameters = request.uri.queryParameters
        var query = BuildListQuery()
        if let limit = parameters.get("limit") {
            guard let value = Int(limit), value > 0 else { throw GatewayError.badRequest("Invalid limit") }
            query.limit = min(value, 1000)
        }
        if let status = parameters.get("status") {
            guard let parsed = BuildStatus(rawValue: status) else { throw GatewayError.badRequest("Invalid status") }
            query.statuses = parsed == .failed ? [.failed, .cancelled] : [parsed]
        }
        if let platform = parameters.get("platform") {
            guard platform == "ios" || platform == "android" else { throw GatewayError.badRequest("Invalid platform") }
            query.platform = platform
        }
        query.workerID = parameters.get("worker_id")
        if let before = parameters.get("before") {
            guard let id = BuildID(before) else { throw GatewayError.badRequest("Invalid cursor") }
            query.before = id.rawValue
        }
        let builds = try await orchestrator.listBuilds(query)
        return .json(.array(builds.map { build in
            var fields: [(String, JSONValue)] = [
                ("id", .string(build.id)), ("status", .string(build.status.legacyValue)),
                ("platform", .string(build.platform)), ("createdAt", .string(ISO8601.format(build.submittedAt))),
            ]
            if build.status.isFinished, let completed = build.completedAt {
                fields.append(("completedAt", .string(ISO8601.format(completed))))
            }
            return .object(fields)
        }))
    }

    func activeBuilds(_ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let builds = try await orchestrator.activeBuilds()
        return .json(["builds": .array(builds.map { build in
            [
                "id": .string(build.id), "status": .string(build.status.rawValue), "platform": .string(build.platform),
                "worker_id": .string(build.workerID), "started_at": .int(build.startedAt?.millisecondsSince1970),
            ]
        })])
    }

    func buildStatistics(_ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let figures = try await orchestrator.statistics()
        return .json([
            "total": .int(figures.total), "pending": .int(figures.pending), "assigned": .int(figures.assigned),
            "building": .int(figures.building), "completed": .int(figures.completed), "failed": .int(figures.failed),
            "cancelled": .int(figures.cancelled),
        ])
    }

    func showBuild(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        try authenticator.requireAPIKey(credentials)
        let build = try await existingBuild(pathBuildID(context))
        let position = try await orchestrator.queuePosition(of: build.id)
        let certs: JSONValue = [
            "state": .string(build.certsState.rawValue),
            "destroyed_at": .string(build.certsDestroyedAt.map(ISO8601.format)),
            "reason": .string(build.certsDestroyReason),
            "key_version": .int(build.certsKeyVersion.map(Int64.init)),
        ]
        return .json([
            "id": .string(build.id), "status": .string(build.status.rawValue), "platform": .string(build.platform),
            "worker_id": .string(build.workerID), "worker_name": .string(build.workerName),
            "submitted_at": .string(ISO8601.format(build.submittedAt)),
            "started_at": .string(build.startedAt.map(ISO8601.format)),
            "completed_at": .string(build.completedAt.map(ISO8601.format)),
            "error_message": .string(build.errorMessage), "attempt": .int(build.attempt),
            "queue_position": .int(position.map(Int64.init)), "has_source": .bool(build.hasSource),
            "has_result": .bool(build.hasResult), "source_sha256": .string(build.sourceSHA256),
            "result_sha256": .string(build.resultSHA256), "result_size": .int(build.resultSize),
            "original_build_id": .string(build.originalBuildID), "certs": certs,
        ])
    }

    func buildStatus(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        try await authenticator.requireOperatorOrSubmitter(credentials, build: id)
        let build = try await existingBuild(id)
        return .json([
            "id": .string(build.id), "status": .string(build.status.legacyValue), "platform": .string(build.platform),
            "worker_id": .string(build.workerID), "submitted_at": .int(build.submittedAt.millisecondsSince1970),
            "started_at": .int(build.startedAt?.millisecondsSince1970),
            "completed_at": .int(build.completedAt?.millisecondsSince1970),
            "error_message": .string(build.errorMessage),
        ])
    }

    func readLogs(_ request: Request, _ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        try await authenticator.requireOperatorOrSubmitter(credentials, build: id)
        var cursor: Int64?
        if let after = request.uri.queryParameters.get("after") {
            guard let value = Int64(after), value >= 0 else { throw GatewayError.badRequest("Invalid cursor") }
            cursor = value
        }
        let lines = try await orchestrator.logs(build: id, after: cursor)
        return .json([
            "build_id": .string(id),
            "logs": .array(lines.map { line in
                [
                    "timestamp": .int(line.timestamp.millisecondsSince1970), "level": .string(line.level.rawValue),
                    "message": .string(line.message), "cursor": .int(line.sequence),
                ]
            }),
            "cursor": .int(lines.last?.sequence ?? cursor ?? 0),
        ])
    }

    func cancel(_ context: GatewayRequestContext, _ credentials: PresentedCredentials) async throws -> Response {
        let id = pathBuildID(context)
        try await authenticator.requireOperatorOrSubmitter(credentials, build: id)
        do {
            try await orchestrator.cancel(id)
        } catch let error as OrchestratorError where error.code == .buildFinished {
            throw GatewayError.badRequest("Build already finished")
        }
        queueSignal.signal()
        return .json(["success": true, "status": "cancelled"])
    }
}

/// ISO-8601 with milliseconds, UTC, for the fields that did not exist in the legacy shapes.
enum ISO8601 {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
