import Hummingbird
import NIOCore

/// `GET /api/openapi.yaml`: the contract as OpenAPI 3.1, embedded so the server needs no working directory.
///
/// The literal below is `docs/openapi.yaml` byte for byte (`OpenAPITests` fails when they differ); edit the YAML
/// file, then paste it here between the delimiters.
extension Gateway {
    func openAPIDocument() -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(OpenAPIDocument.yaml)
        return Response(
            status: .ok,
            headers: [.contentType: "application/yaml", .contentLength: "\(buffer.readableBytes)"],
            body: ResponseBody(byteBuffer: buffer))
    }
}

enum OpenAPIDocument {
    static let yaml = #"""
openapi: 3.1.0
info:
  title: Free Agent Controller
  version: "1.0"
  description: |
    The HTTP contract of Free Agent Controller, as served by Sources/Gateway (RouteTable.swift lists
    every route with the credential kinds it accepts). Every error body is exactly {"error": "<message>"}.
    Credentials of kinds a route does not accept are ignored. Nothing acceptable sent → 401; a wrong
    API key, build token or VM token, or a valid credential without rights to the resource → 403;
    an unknown build or worker → 404, only once authentication succeeded. Any request that needs the
    database while it is unreachable → 503 {"error":"Database unavailable"}. Every response carries
    X-Request-Id. A client whose authentications keep failing, or a credential with too many uploads in
    flight, is answered 429 with Retry-After. Timestamps in the legacy shapes are integers, milliseconds since the epoch; ISO-8601
    strings appear only in fields that are new (GET /api/builds, GET /api/builds/{id}, vault-events).
servers:
  - url: http://127.0.0.1:3000
security: []
paths:
  /health:
    get:
      operationId: health
      summary: Health of the database and the storage (CORS)
      security: []
      responses:
        "200":
          $ref: "#/components/responses/Health"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/health:
    get:
      operationId: apiHealth
      summary: Same as /health
      security: []
      responses:
        "200":
          $ref: "#/components/responses/Health"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/stats:
    get:
      operationId: publicStats
      summary: Landing-page statistics (CORS)
      security: []
      responses:
        "200":
          $ref: "#/components/responses/PublicStats"
        "503":
          $ref: "#/components/responses/Unavailable"
  /public/stats:
    get:
      operationId: publicStatsAlias
      summary: Same as /api/stats
      security: []
      responses:
        "200":
          $ref: "#/components/responses/PublicStats"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/openapi.yaml:
    get:
      operationId: openAPIDocument
      summary: This document
      security: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The OpenAPI document
          content:
            application/yaml:
              schema:
                type: string
  /api/builds/submit:
    post:
      operationId: submitBuild
      summary: Submit a build (multipart)
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/ChecksumHeader"
      requestBody:
        $ref: "#/components/requestBodies/Submit"
      responses:
        "200":
          $ref: "#/components/responses/Submitted"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds:
    post:
      operationId: submitBuildAlias
      summary: Same as POST /api/builds/submit
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/ChecksumHeader"
      requestBody:
        $ref: "#/components/requestBodies/Submit"
      responses:
        "200":
          $ref: "#/components/responses/Submitted"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
    get:
      operationId: listBuilds
      summary: "Builds, newest first (ties: higher id first)"
      security:
        - ApiKey: []
      parameters:
        - name: limit
          in: query
          description: Page size, default 100, larger values capped at 1000; anything but a positive integer → 400 Invalid limit.
          schema:
            type: integer
            minimum: 1
        - name: before
          in: query
          description: The id of the last item of the previous page; one that names no build → 400 Invalid cursor.
          schema:
            type: string
        - name: status
          in: query
          description: Filter; failed includes cancelled builds. Anything else → 400 Invalid status.
          schema:
            $ref: "#/components/schemas/BuildStatus"
        - name: platform
          in: query
          description: Filter; anything else → 400 Invalid platform.
          schema:
            $ref: "#/components/schemas/Platform"
        - name: worker_id
          in: query
          description: Filter by the worker that holds or held the build (not a credential here).
          schema:
            type: string
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: A JSON array
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  required: [id, status, platform, createdAt]
                  additionalProperties: false
                  properties:
                    id:
                      type: string
                    status:
                      $ref: "#/components/schemas/LegacyStatus"
                    platform:
                      $ref: "#/components/schemas/Platform"
                    createdAt:
                      type: string
                      format: date-time
                    completedAt:
                      type: string
                      format: date-time
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/active:
    get:
      operationId: activeBuilds
      summary: Assigned and building builds
      security:
        - ApiKey: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Active builds
          content:
            application/json:
              schema:
                type: object
                required: [builds]
                additionalProperties: false
                properties:
                  builds:
                    type: array
                    items:
                      type: object
                      required: [id, status, platform, worker_id, started_at]
                      additionalProperties: false
                      properties:
                        id:
                          type: string
                        status:
                          type: string
                          enum: [assigned, building]
                        platform:
                          $ref: "#/components/schemas/Platform"
                        worker_id:
                          type: [string, "null"]
                        started_at:
                          $ref: "#/components/schemas/NullableMillis"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/statistics:
    get:
      operationId: buildStatistics
      summary: Counts of builds by status
      security:
        - ApiKey: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Counts, zero on an empty database
          content:
            application/json:
              schema:
                type: object
                required: [total, pending, assigned, building, completed, failed, cancelled]
                additionalProperties: false
                properties:
                  total:
                    type: integer
                  pending:
                    type: integer
                  assigned:
                    type: integer
                  building:
                    type: integer
                  completed:
                    type: integer
                  failed:
                    type: integer
                  cancelled:
                    type: integer
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}:
    get:
      operationId: showBuild
      summary: The full record of a build, with its true status and the certs' state
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The build
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/BuildRecord"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/status:
    get:
      operationId: buildStatus
      summary: The CLI's status shape (a cancelled build reads failed)
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The status
          content:
            application/json:
              schema:
                type: object
                required: [id, status, platform, worker_id, submitted_at, started_at, completed_at, error_message]
                additionalProperties: false
                properties:
                  id:
                    type: string
                  status:
                    $ref: "#/components/schemas/LegacyStatus"
                  platform:
                    $ref: "#/components/schemas/Platform"
                  worker_id:
                    type: [string, "null"]
                  submitted_at:
                    $ref: "#/components/schemas/Millis"
                  started_at:
                    $ref: "#/components/schemas/NullableMillis"
                  completed_at:
                    $ref: "#/components/schemas/NullableMillis"
                  error_message:
                    type: [string, "null"]
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/logs:
    get:
      operationId: readLogs
      summary: Log lines, oldest first; all by default, only newer ones with ?after
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - name: after
          in: query
          description: A cursor from an earlier reply; not a non-negative integer → 400 Invalid cursor.
          schema:
            type: integer
            minimum: 0
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The lines
          content:
            application/json:
              schema:
                type: object
                required: [build_id, logs, cursor]
                additionalProperties: false
                properties:
                  build_id:
                    type: string
                  logs:
                    type: array
                    items:
                      type: object
                      required: [timestamp, level, message, cursor]
                      additionalProperties: false
                      properties:
                        timestamp:
                          $ref: "#/components/schemas/Millis"
                        level:
                          $ref: "#/components/schemas/LogLevel"
                        message:
                          type: string
                        cursor:
                          type: integer
                  cursor:
                    type: integer
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
    post:
      operationId: postLogs
      summary: Log lines from the worker or its VM
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - type: object
                  required: [level, message]
                  properties:
                    level:
                      $ref: "#/components/schemas/LogLevelInput"
                    message:
                      type: string
                - type: object
                  required: [logs]
                  properties:
                    logs:
                      type: array
                      items:
                        type: object
                        required: [level, message]
                        properties:
                          level:
                            $ref: "#/components/schemas/LogLevelInput"
                          message:
                            type: string
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Stored; count when the body was {"logs":[...]}
          content:
            application/json:
              schema:
                type: object
                required: [success]
                additionalProperties: false
                properties:
                  success:
                    const: true
                  count:
                    type: integer
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/download:
    get:
      operationId: downloadResult
      summary: The result (.ipa/.apk), streamed; Range and If-Range supported
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/Range"
        - $ref: "#/components/parameters/IfRange"
      responses:
        "200":
          $ref: "#/components/responses/File"
        "206":
          $ref: "#/components/responses/PartialFile"
        "302":
          $ref: "#/components/responses/PresignedRedirect"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "416":
          $ref: "#/components/responses/RangeNotSatisfiable"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
    head:
      operationId: headResult
      summary: The headers of GET /api/builds/{id}/download, without a body
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/Range"
        - $ref: "#/components/parameters/IfRange"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The file's headers
        "206":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The range's headers
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "416":
          $ref: "#/components/responses/RangeNotSatisfiable"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/download/{type}:
    get:
      operationId: downloadFile
      summary: The result or the source, streamed; the worker or VM holding the build may fetch the source
      security:
        - ApiKey: []
        - BuildToken: []
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/FileType"
        - $ref: "#/components/parameters/WorkerIDQuery"
        - $ref: "#/components/parameters/Range"
        - $ref: "#/components/parameters/IfRange"
      responses:
        "200":
          $ref: "#/components/responses/File"
        "206":
          $ref: "#/components/responses/PartialFile"
        "302":
          $ref: "#/components/responses/PresignedRedirect"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "416":
          $ref: "#/components/responses/RangeNotSatisfiable"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
    head:
      operationId: headFile
      summary: The headers of GET /api/builds/{id}/download/{type}, without a body
      security:
        - ApiKey: []
        - BuildToken: []
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/FileType"
        - $ref: "#/components/parameters/WorkerIDQuery"
        - $ref: "#/components/parameters/Range"
        - $ref: "#/components/parameters/IfRange"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The file's headers
        "206":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The range's headers
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "416":
          $ref: "#/components/responses/RangeNotSatisfiable"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/cancel:
    post:
      operationId: cancelBuild
      summary: Cancel a build (no body needed; an empty application/json body is accepted)
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Cancelled
          content:
            application/json:
              schema:
                type: object
                required: [success, status]
                additionalProperties: false
                properties:
                  success:
                    const: true
                  status:
                    const: cancelled
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/retry:
    post:
      operationId: retryBuild
      summary: A new build with the same source and certs
      security:
        - ApiKey: []
        - BuildToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The new build
          content:
            application/json:
              schema:
                type: object
                required: [id, status, platform, submitted_at, access_token, original_build_id]
                additionalProperties: false
                properties:
                  id:
                    type: string
                  status:
                    const: pending
                  platform:
                    $ref: "#/components/schemas/Platform"
                  submitted_at:
                    $ref: "#/components/schemas/Millis"
                  access_token:
                    type: string
                  original_build_id:
                    type: string
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/vault-events:
    get:
      operationId: vaultEvents
      summary: The vault's audit trail of a build's certs, oldest first
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The events
          content:
            application/json:
              schema:
                type: object
                required: [build_id, events]
                additionalProperties: false
                properties:
                  build_id:
                    type: string
                  events:
                    type: array
                    items:
                      type: object
                      required: [event, attempt, worker_id, reason, key_version, at]
                      additionalProperties: false
                      properties:
                        event:
                          type: string
                        attempt:
                          type: [integer, "null"]
                        worker_id:
                          type: [string, "null"]
                        reason:
                          type: [string, "null"]
                        key_version:
                          type: [integer, "null"]
                        at:
                          type: string
                          format: date-time
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/source:
    get:
      operationId: downloadSourceAsHolder
      summary: The source ZIP, for the worker or VM holding the build's live attempt
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
        - $ref: "#/components/parameters/Range"
        - $ref: "#/components/parameters/IfRange"
      responses:
        "200":
          $ref: "#/components/responses/File"
        "206":
          $ref: "#/components/responses/PartialFile"
        "302":
          $ref: "#/components/responses/PresignedRedirect"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "416":
          $ref: "#/components/responses/RangeNotSatisfiable"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/certs:
    get:
      operationId: certsZip
      summary: The certs ZIP, decrypted in memory (Cache-Control no-store)
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The certs ZIP, filename <id>-certs.zip
          content:
            application/zip:
              schema:
                type: string
                format: binary
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/certs-secure:
    get:
      operationId: certsSecure
      summary: The certs as JSON for the VM's keychain (Cache-Control no-store)
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The bundle
          content:
            application/json:
              schema:
                type: object
                required: [p12, p12Password, keychainPassword, provisioningProfiles]
                additionalProperties: false
                properties:
                  p12:
                    type: string
                    contentEncoding: base64
                  p12Password:
                    type: string
                  keychainPassword:
                    type: string
                    contentEncoding: base64
                  provisioningProfiles:
                    type: array
                    items:
                      type: string
                      contentEncoding: base64
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/telemetry:
    post:
      operationId: telemetry
      summary: VM telemetry; any authenticated telemetry counts as a build heartbeat
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: false
        content:
          application/json:
            schema:
              type: object
              properties:
                type:
                  type: string
                timestamp:
                  type: [integer, string]
                data: {}
      responses:
        "200":
          $ref: "#/components/responses/StatusOK"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/heartbeat:
    post:
      operationId: buildHeartbeat
      summary: A build heartbeat; X-VM-Token may also carry the heartbeat-only token from vm-status
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: false
        content:
          application/json:
            schema:
              type: object
              properties:
                progress:
                  type: number
      responses:
        "200":
          $ref: "#/components/responses/HeartbeatOK"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/authenticate:
    post:
      operationId: authenticateVM
      summary: Exchange the build's one-time password for a VM token
      security: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [otp]
              properties:
                otp:
                  type: string
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The VM token
          content:
            application/json:
              schema:
                type: object
                required: [vm_token, expires_at]
                additionalProperties: false
                properties:
                  vm_token:
                    type: string
                  expires_at:
                    $ref: "#/components/schemas/Millis"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/vm-ready:
    post:
      operationId: vmReady
      summary: The VM reports that it is ready
      security:
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Recorded
          content:
            application/json:
              schema:
                type: object
                required: [success, vm_ready_at]
                additionalProperties: false
                properties:
                  success:
                    const: true
                  vm_ready_at:
                    $ref: "#/components/schemas/Millis"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/vm-status:
    get:
      operationId: vmStatus
      summary: Anonymous; once the VM is ready it hands out a heartbeat-only token (never the VM token)
      security: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Whether the VM is ready
          content:
            application/json:
              schema:
                oneOf:
                  - type: object
                    required: [vm_ready]
                    additionalProperties: false
                    properties:
                      vm_ready:
                        const: false
                  - type: object
                    required: [vm_ready, vm_token, vm_ready_at]
                    additionalProperties: false
                    properties:
                      vm_ready:
                        const: true
                      vm_token:
                        type: string
                      vm_ready_at:
                        $ref: "#/components/schemas/Millis"
        "404":
          $ref: "#/components/responses/NotFound"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/builds/{id}/artifact:
    post:
      operationId: uploadArtifact
      summary: The VM uploads the result (multipart file artifact); the build completes
      security:
        - VMToken: []
      parameters:
        - $ref: "#/components/parameters/BuildID"
        - $ref: "#/components/parameters/ChecksumHeader"
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [artifact]
              properties:
                artifact:
                  type: string
                  format: binary
                  description: An .ipa or .apk (a ZIP); a part named result is accepted too.
      responses:
        "200":
          $ref: "#/components/responses/Success"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/register:
    post:
      operationId: registerWorker
      summary: Register a worker, or re-register a known id with a fresh token
      security:
        - ApiKey: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, capabilities]
              properties:
                name:
                  type: string
                  minLength: 1
                  maxLength: 200
                capabilities:
                  type: object
                id:
                  type: string
                  description: A proposed id, [A-Za-z0-9_-]{1,64}; else 400 Invalid worker id.
                active_build_count:
                  type: integer
                publicIdentifier:
                  type: string
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Registered
          content:
            application/json:
              schema:
                type: object
                required: [id, access_token, status, baseImageId, message]
                additionalProperties: false
                properties:
                  id:
                    type: string
                  access_token:
                    type: string
                  status:
                    type: string
                    enum: [registered, re-registered]
                  baseImageId:
                    type: string
                  message:
                    type: string
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/poll:
    get:
      operationId: poll
      summary: Take a job (atomically); ?wait long-polls
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
        - name: wait
          in: query
          description: Seconds to wait for a build (capped at LONG_POLL_MAX_SECONDS); not a finite number ≥ 0 → 400 Invalid wait.
          schema:
            type: number
            minimum: 0
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: A job or none; access_token is null on the API-key path
          content:
            application/json:
              schema:
                type: object
                required: [job, access_token]
                additionalProperties: false
                properties:
                  job:
                    oneOf:
                      - type: "null"
                      - $ref: "#/components/schemas/Job"
                  access_token:
                    type: [string, "null"]
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/upload:
    post:
      operationId: workerUpload
      summary: The worker reports its build's result (multipart)
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
        - $ref: "#/components/parameters/ChecksumHeader"
      requestBody:
        $ref: "#/components/requestBodies/WorkerUpload"
      responses:
        "200":
          $ref: "#/components/responses/UploadResult"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/result:
    post:
      operationId: workerResult
      summary: Same as POST /api/workers/upload
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
        - $ref: "#/components/parameters/ChecksumHeader"
      requestBody:
        $ref: "#/components/requestBodies/WorkerUpload"
      responses:
        "200":
          $ref: "#/components/responses/UploadResult"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/fail:
    post:
      operationId: workerFail
      summary: The worker reports its build failed
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [build_id]
              properties:
                build_id:
                  type: string
                error:
                  type: string
      responses:
        "200":
          $ref: "#/components/responses/Success"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/heartbeat:
    post:
      operationId: workerHeartbeat
      summary: The worker's heartbeat for its build
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [build_id]
              properties:
                build_id:
                  type: string
      responses:
        "200":
          $ref: "#/components/responses/HeartbeatOK"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/abandon:
    post:
      operationId: workerAbandon
      summary: The worker gives its build back to the queue
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerId: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDQuery"
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [build_id]
              properties:
                build_id:
                  type: string
                reason:
                  type: string
      responses:
        "200":
          $ref: "#/components/responses/Success"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "409":
          $ref: "#/components/responses/Conflict"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/unregister:
    post:
      operationId: unregisterSelf
      summary: The worker unregisters itself (a token expired within 24 h is accepted together with a valid API key)
      security:
        - WorkerToken: []
        - ApiKey: []
          WorkerToken: []
      responses:
        "200":
          $ref: "#/components/responses/Unregistered"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/{id}/unregister:
    post:
      operationId: unregisterByOperator
      summary: The operator takes a worker offline; its builds go back to the queue
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDPath"
      responses:
        "200":
          $ref: "#/components/responses/Unregistered"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/{id}/stats:
    get:
      operationId: workerStats
      summary: A worker's figures
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDPath"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The figures; uptime like "2d 3h", "3h 5m", "5m 2s", "9s"
          content:
            application/json:
              schema:
                type: object
                required: [totalBuilds, successfulBuilds, failedBuilds, workerName, status, uptime]
                additionalProperties: false
                properties:
                  totalBuilds:
                    type: integer
                  successfulBuilds:
                    type: integer
                  failedBuilds:
                    type: integer
                  workerName:
                    type: string
                  status:
                    type: string
                  uptime:
                    type: string
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers:
    get:
      operationId: listWorkers
      summary: Every worker with its last-seen time
      security:
        - ApiKey: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The workers
          content:
            application/json:
              schema:
                type: object
                required: [workers]
                additionalProperties: false
                properties:
                  workers:
                    type: array
                    items:
                      type: object
                      required: [id, name, status, last_seen_at, registered_at, current_build_id, builds_completed, builds_failed]
                      additionalProperties: false
                      properties:
                        id:
                          type: string
                        name:
                          type: string
                        status:
                          type: string
                        last_seen_at:
                          $ref: "#/components/schemas/Millis"
                        registered_at:
                          $ref: "#/components/schemas/Millis"
                        current_build_id:
                          type: [string, "null"]
                        builds_completed:
                          type: integer
                        builds_failed:
                          type: integer
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/workers/{id}:
    delete:
      operationId: revokeWorker
      summary: Revoke a worker's tokens, take it offline, re-queue its builds
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/WorkerIDPath"
      responses:
        "200":
          $ref: "#/components/responses/Unregistered"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/diagnostics/report:
    post:
      operationId: storeDiagnostic
      summary: A worker's self-diagnostics report
      security:
        - ApiKey: []
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [worker_id, status, duration_ms, checks]
              properties:
                worker_id:
                  type: string
                  pattern: "^[A-Za-z0-9_-]{1,64}$"
                status:
                  type: string
                  enum: [healthy, warning, critical]
                duration_ms:
                  type: number
                  minimum: 0
                auto_fixed:
                  type: boolean
                checks:
                  type: array
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Stored
          content:
            application/json:
              schema:
                type: object
                required: [id, status]
                additionalProperties: false
                properties:
                  id:
                    type: string
                  status:
                    const: stored
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/diagnostics/{worker_id}:
    get:
      operationId: diagnostics
      summary: A worker's reports, newest first
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/DiagnosticsWorkerID"
        - name: limit
          in: query
          description: Default 10, capped at 100; not a positive integer → 400 Invalid limit.
          schema:
            type: integer
            minimum: 1
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The reports
          content:
            application/json:
              schema:
                type: object
                required: [worker_id, reports]
                additionalProperties: false
                properties:
                  worker_id:
                    type: string
                  reports:
                    type: array
                    items:
                      $ref: "#/components/schemas/DiagnosticReport"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /api/diagnostics/{worker_id}/latest:
    get:
      operationId: latestDiagnostic
      summary: A worker's newest report
      security:
        - ApiKey: []
      parameters:
        - $ref: "#/components/parameters/DiagnosticsWorkerID"
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The report
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/DiagnosticReport"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "404":
          $ref: "#/components/responses/NotFound"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /:
    get:
      operationId: dashboard
      summary: The operator dashboard (HTML), or the sign-in page and nothing else without a live session
      description: Server-rendered; Content-Security-Policy allows scripts, styles and connections to this host only.
      security:
        - DashboardSession: []
        - {}
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: The dashboard, or the sign-in form when the fac_session cookie names no live session
          content:
            text/html:
              schema:
                type: string
        "503":
          $ref: "#/components/responses/Unavailable"
  /dashboard/sign-in:
    post:
      operationId: dashboardSignIn
      summary: Sign in to the dashboard with the API key (the sign-in form posts here)
      description: Refused when the Origin (or Sec-Fetch-Site) is another site. On success a session cookie fac_session (HttpOnly, SameSite=Strict, Secure over TLS) and a redirect to /.
      security: []
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [api_key]
              properties:
                api_key:
                  type: string
      responses:
        "303":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Signed in; Set-Cookie fac_session, Location /
        "401":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Wrong API key; the sign-in page again, without a cookie
          content:
            text/html:
              schema:
                type: string
        "403":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: A form posted from another site; the sign-in page again, without a cookie
          content:
            text/html:
              schema:
                type: string
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /dashboard/sign-out:
    post:
      operationId: dashboardSignOut
      summary: End the dashboard session everywhere; needs the page's CSRF token
      security:
        - DashboardSession: []
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [csrf]
              properties:
                csrf:
                  type: string
      responses:
        "303":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Signed out; the cookie is cleared, Location /
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "413":
          $ref: "#/components/responses/TooLarge"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /dashboard/events:
    get:
      operationId: dashboardEvents
      summary: The dashboard's live updates (server-sent events)
      description: A snapshot event carries the live part of the page (HTML), at once and after every change on any controller process; signed-out when the session ends. The stream ends after 30 min and the browser reconnects.
      security:
        - DashboardSession: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: An event stream
          content:
            text/event-stream:
              schema:
                type: string
        "401":
          $ref: "#/components/responses/Unauthorized"
        "429":
          $ref: "#/components/responses/TooManyRequests"
        "503":
          $ref: "#/components/responses/Unavailable"
  /dashboard/app.js:
    get:
      operationId: dashboardScript
      summary: The dashboard's script (holds no data)
      security: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: JavaScript
          content:
            text/javascript:
              schema:
                type: string
  /dashboard/app.css:
    get:
      operationId: dashboardStyle
      summary: The dashboard's style sheet (holds no data)
      security: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: CSS
          content:
            text/css:
              schema:
                type: string
  /dashboard/icon.svg:
    get:
      operationId: dashboardIcon
      summary: The dashboard's icon
      security: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: SVG
          content:
            image/svg+xml:
              schema:
                type: string
  /metrics:
    get:
      operationId: metrics
      summary: Prometheus metrics of this process and the queue (text format 0.0.4)
      description: Also served without credentials on METRICS_PORT when it is set.
      security:
        - ApiKey: []
      responses:
        "200":
          headers:
            X-Request-Id:
              $ref: "#/components/headers/RequestId"
          description: Metrics
          content:
            text/plain:
              schema:
                type: string
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          $ref: "#/components/responses/Forbidden"
        "429":
          $ref: "#/components/responses/TooManyRequests"
components:
  securitySchemes:
    ApiKey:
      type: apiKey
      in: header
      name: X-API-Key
      description: The operator's key (CLI, worker installer, old workers).
    BuildToken:
      type: apiKey
      in: header
      name: X-Build-Token
      description: The submitter's token of one build (from submit or retry).
    WorkerToken:
      type: apiKey
      in: header
      name: X-Worker-Token
      description: A worker's rotating token; where sent, it alone decides who the worker is.
    WorkerId:
      type: apiKey
      in: header
      name: X-Worker-Id
      description: With X-API-Key, names the worker (old workers); the worker_id query field, or the worker_id form field of an upload, may name it instead. X-API-Key without any id → 400 worker_id required.
    VMToken:
      type: apiKey
      in: header
      name: X-VM-Token
      description: The VM token of one build attempt (from authenticate); on /heartbeat also the heartbeat-only token from vm-status.
    DashboardSession:
      type: apiKey
      in: cookie
      name: fac_session
      description: The dashboard's session, set by signing in with the API key on /dashboard/sign-in.
  parameters:
    BuildID:
      name: id
      in: path
      required: true
      description: A build id; one that is not [A-Za-z0-9_-]{1,64} or names no build → 404 (after authentication).
      schema:
        type: string
    WorkerIDPath:
      name: id
      in: path
      required: true
      description: A worker id; unknown → 404 Worker not found.
      schema:
        type: string
    DiagnosticsWorkerID:
      name: worker_id
      in: path
      required: true
      description: Echoed as given in the list's worker_id; one no worker can have has no reports.
      schema:
        type: string
    FileType:
      name: type
      in: path
      required: true
      description: result or source; anything else → 400 Invalid file type.
      schema:
        type: string
        enum: [result, source]
    WorkerIDQuery:
      name: worker_id
      in: query
      description: With X-API-Key, names the worker (as X-Worker-Id does; the header wins).
      schema:
        type: string
    Range:
      name: Range
      in: header
      description: A single byte range (bytes=a-b, bytes=a-, bytes=-n); anything else gets the whole file.
      schema:
        type: string
    IfRange:
      name: If-Range
      in: header
      description: The ETag of the version a range is for; another ETag gets the whole file.
      schema:
        type: string
    ChecksumHeader:
      name: X-Checksum-SHA256
      in: header
      description: The expected SHA-256 (64 hex digits) of the uploaded file; mismatch or malformed → 400, nothing kept.
      schema:
        type: string
        pattern: "^[0-9A-Fa-f]{64}$"
  requestBodies:
    Submit:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [source, platform]
            properties:
              source:
                type: string
                format: binary
                description: A ZIP (even when named project.tar.gz and typed application/gzip); inspected for bombs, traversal and links.
              platform:
                $ref: "#/components/schemas/Platform"
              certs:
                type: string
                format: binary
                description: A ZIP of *.p12, password.txt, *.mobileprovision; sealed in the vault.
              profile:
                type: string
                format: binary
                description: Accepted and ignored.
              appleId:
                type: string
                description: Accepted and ignored.
              applePassword:
                type: string
                description: Accepted and ignored; never stored or logged.
    WorkerUpload:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [build_id, success]
            description: build_id (and worker_id, for old workers) must come before the result file part.
            properties:
              build_id:
                type: string
              worker_id:
                type: string
              success:
                type: string
                enum: ["true", "false"]
              error_message:
                type: string
              result:
                type: string
                format: binary
                description: The .ipa or .apk (a ZIP); a part named artifact is accepted too.
  headers:
    RequestId:
      description: >-
        The request's id: a sane incoming X-Request-Id (1-128 characters of [A-Za-z0-9._:-]) or a fresh
        32-hex-digit one. It is in every log line of the request.
      schema:
        type: string
        pattern: "^[A-Za-z0-9._:-]{1,128}$"
    RetryAfter:
      description: Whole seconds after which a retry may succeed
      schema:
        type: integer
        minimum: 1
  responses:
    TooManyRequests:
      description: >-
        Too many failed authentications from this client (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_SECONDS),
        or too many uploads in flight for this credential (MAX_CONCURRENT_UPLOADS_PER_CREDENTIAL)
      headers:
        Retry-After:
          $ref: "#/components/headers/RetryAfter"
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Error:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: An error
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    BadRequest:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The request is malformed (the message says how)
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Unauthorized:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: No acceptable credential sent, or an unknown or expired worker, VM token or OTP
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Forbidden:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: A wrong credential, or a valid one without rights to the resource
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    NotFound:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Unknown build, worker or file (only after authentication)
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Conflict:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The caller's attempt is over (Build was cancelled, Build already finished, Build was re-queued; this attempt is no longer current, Build is not in progress)
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    TooLarge:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: An upload or body over its limit
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    RangeNotSatisfiable:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The Range is outside the file (Content-Range bytes */size)
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Unavailable:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Database unavailable, or Storage unavailable
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Health:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The controller is healthy
      content:
        application/json:
          schema:
            type: object
            required: [status, queue, storage, database]
            additionalProperties: false
            properties:
              status:
                const: ok
              queue:
                type: object
                required: [pending, active]
                additionalProperties: false
                properties:
                  pending:
                    type: integer
                  active:
                    type: integer
              storage:
                type: object
                required: [backend, bytes_used, blob_count]
                additionalProperties: false
                properties:
                  backend:
                    type: string
                    enum: [filesystem, s3]
                  bytes_used:
                    type: integer
                  blob_count:
                    type: integer
                  free_bytes:
                    type: integer
                    description: Free space on the storage volume (filesystem backend only; a bucket has none to report)
              database:
                const: ok
    PublicStats:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Real figures, all zero on an empty database
      content:
        application/json:
          schema:
            type: object
            required: [nodesOnline, buildsQueued, activeBuilds, buildsToday, totalBuilds, totalBuildTimeMs, totalCpuCycles]
            additionalProperties: false
            properties:
              nodesOnline:
                type: integer
              buildsQueued:
                type: integer
              activeBuilds:
                type: integer
              buildsToday:
                type: integer
              totalBuilds:
                type: integer
              totalBuildTimeMs:
                type: integer
              totalCpuCycles:
                type: integer
    Submitted:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The new build, with its access token (returned only here and by retry)
      content:
        application/json:
          schema:
            type: object
            required: [id, status, platform, submitted_at, access_token]
            additionalProperties: false
            properties:
              id:
                type: string
              status:
                const: pending
              platform:
                $ref: "#/components/schemas/Platform"
              submitted_at:
                $ref: "#/components/schemas/Millis"
              access_token:
                type: string
    File:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The whole file, streamed (Content-Disposition attachment; ETag and X-Checksum-SHA256 when recorded)
      content:
        application/octet-stream:
          schema:
            type: string
            format: binary
        application/zip:
          schema:
            type: string
            format: binary
    PresignedRedirect:
      description: >-
        Only with DOWNLOAD_REDIRECT=presigned (S3 storage): the bytes are at Location, a presigned GET URL of the
        bucket valid for DOWNLOAD_REDIRECT_TTL_SECONDS; repeat any Range there
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
        Location:
          schema:
            type: string
        ETag:
          schema:
            type: string
        X-Checksum-SHA256:
          schema:
            type: string
    PartialFile:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The requested range (Content-Range)
      content:
        application/octet-stream:
          schema:
            type: string
            format: binary
        application/zip:
          schema:
            type: string
            format: binary
    Success:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Done
      content:
        application/json:
          schema:
            type: object
            required: [success]
            additionalProperties: false
            properties:
              success:
                const: true
    StatusOK:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Recorded
      content:
        application/json:
          schema:
            type: object
            required: [status]
            additionalProperties: false
            properties:
              status:
                const: ok
    HeartbeatOK:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: Recorded
      content:
        application/json:
          schema:
            type: object
            required: [status, timestamp]
            additionalProperties: false
            properties:
              status:
                const: ok
              timestamp:
                $ref: "#/components/schemas/Millis"
    UploadResult:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The build completed (success) or failed
      content:
        application/json:
          schema:
            type: object
            required: [status]
            additionalProperties: false
            properties:
              status:
                type: string
                enum: [success, failed]
    Unregistered:
      headers:
        X-Request-Id:
          $ref: "#/components/headers/RequestId"
      description: The worker is offline; its builds went back to the queue
      content:
        application/json:
          schema:
            type: object
            required: [success, builds_reassigned]
            additionalProperties: false
            properties:
              success:
                const: true
              builds_reassigned:
                type: integer
  schemas:
    Error:
      type: object
      required: [error]
      additionalProperties: false
      properties:
        error:
          type: string
    Millis:
      type: integer
      description: Milliseconds since the epoch
    NullableMillis:
      type: [integer, "null"]
      description: Milliseconds since the epoch, or null
    Platform:
      type: string
      enum: [ios, android]
    BuildStatus:
      type: string
      enum: [pending, assigned, building, completed, failed, cancelled]
    LegacyStatus:
      type: string
      description: The CLI's five values; a cancelled build reads failed
      enum: [pending, assigned, building, completed, failed]
    LogLevel:
      type: string
      enum: [debug, info, warn, error]
    LogLevelInput:
      type: string
      description: info, warn, error or debug (compared case-insensitively)
      enum: [debug, info, warn, error]
    Job:
      type: object
      required: [id, platform, source_url, certs_url, baseImageId, otp, submitted_at]
      additionalProperties: false
      properties:
        id:
          type: string
        platform:
          $ref: "#/components/schemas/Platform"
        source_url:
          type: string
          description: Always /api/builds/<id>/source
        certs_url:
          type: [string, "null"]
          description: /api/builds/<id>/certs, or null without certs
        baseImageId:
          type: string
        otp:
          type: string
          description: One-time password for the VM (replaces any unused one)
        submitted_at:
          $ref: "#/components/schemas/Millis"
    BuildRecord:
      type: object
      required: [id, status, platform, worker_id, worker_name, submitted_at, started_at, completed_at, error_message, attempt, queue_position, has_source, has_result, source_sha256, result_sha256, result_size, original_build_id, certs]
      additionalProperties: false
      properties:
        id:
          type: string
        status:
          $ref: "#/components/schemas/BuildStatus"
        platform:
          $ref: "#/components/schemas/Platform"
        worker_id:
          type: [string, "null"]
        worker_name:
          type: [string, "null"]
        submitted_at:
          type: string
          format: date-time
        started_at:
          type: [string, "null"]
          format: date-time
        completed_at:
          type: [string, "null"]
          format: date-time
        error_message:
          type: [string, "null"]
        attempt:
          type: integer
        queue_position:
          type: [integer, "null"]
        has_source:
          type: boolean
        has_result:
          type: boolean
        source_sha256:
          type: [string, "null"]
        result_sha256:
          type: [string, "null"]
        result_size:
          type: [integer, "null"]
        original_build_id:
          type: [string, "null"]
        certs:
          type: object
          required: [state, destroyed_at, reason, key_version]
          additionalProperties: false
          properties:
            state:
              type: string
              enum: [none, sealed, destroyed]
            destroyed_at:
              type: [string, "null"]
              format: date-time
            reason:
              type: [string, "null"]
            key_version:
              type: [integer, "null"]
    DiagnosticReport:
      type: object
      required: [id, worker_id, status, run_at, duration_ms, auto_fixed, checks]
      additionalProperties: false
      properties:
        id:
          type: string
        worker_id:
          type: string
        status:
          type: string
          enum: [healthy, warning, critical]
        run_at:
          $ref: "#/components/schemas/Millis"
        duration_ms:
          type: integer
        auto_fixed:
          type: boolean
        checks: {}

"""#
}
