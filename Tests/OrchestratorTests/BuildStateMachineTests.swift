import Orchestrator
import Testing

@Suite struct BuildStateMachineTests {
    @Test func pendingBuild_isClaimed_thenBuilds_thenCompletes() {
        var machine = BuildStateMachine(status: .pending)
        #expect(machine.handle(.claim) == .transition(to: .assigned))
        #expect(machine.handle(.heartbeat) == .transition(to: .building))
        #expect(machine.handle(.heartbeat) == .none)
        #expect(machine.handle(.complete) == .transition(to: .completed))
        #expect(machine.status == .completed)
    }

    @Test(arguments: [BuildStatus.completed, .failed, .cancelled])
    func finishedBuild_rejectsEveryEvent(_ status: BuildStatus) {
        for event in [BuildStateMachine.Event.claim, .heartbeat, .complete, .fail, .cancel, .requeue, .exhaust] {
            var machine = BuildStateMachine(status: status)
            #expect(machine.handle(event) == .rejectFinished(status))
            #expect(machine.status == status)
        }
    }

    @Test func pendingBuild_cannotHeartbeatCompleteOrRequeue() {
        for event in [BuildStateMachine.Event.heartbeat, .complete, .fail, .requeue, .exhaust] {
            var machine = BuildStateMachine(status: .pending)
            #expect(machine.handle(event) == .rejectNotActive)
        }
    }

    @Test func activeBuild_requeuesToPending_orExhaustsToFailed() {
        var requeued = BuildStateMachine(status: .building)
        #expect(requeued.handle(.requeue) == .transition(to: .pending))
        var exhausted = BuildStateMachine(status: .assigned)
        #expect(exhausted.handle(.exhaust) == .transition(to: .failed))
    }

    @Test func cancel_worksFromEveryUnfinishedStatus() {
        for status in [BuildStatus.pending, .assigned, .building] {
            var machine = BuildStateMachine(status: status)
            #expect(machine.handle(.cancel) == .transition(to: .cancelled))
        }
    }

    @Test func legacyValue_reportsCancelledAsFailed() {
        #expect(BuildStatus.cancelled.legacyValue == "failed")
        #expect(BuildStatus.building.legacyValue == "building")
    }
}
