import Testing
import VigilCore
@testable import Monitor

@Suite struct InterventionPolicyTests {
    let policy = InterventionPolicy.defaults

    @Test func latencyProblemsAreRepairedAutomatically() {
        for cause in [RootCause.sensorFault, .deviceFault, .busFault] {
            for sev in [DiagnosisSeverity.minor, .major] {
                #expect(policy.lookup(cause: cause, kind: .latency, severity: sev) == .automaticRepair)
                #expect(policy.lookup(cause: cause, kind: .deviceLatencyTrend, severity: sev) == .automaticRepair)
            }
        }
    }

    @Test func minorAccuracyLossIsRepairedAutomatically() {
        for kind in [FindingKind.noise, .drift, .spike, .dropout, .stuck, .outOfRange] {
            #expect(policy.lookup(cause: .sensorFault, kind: kind, severity: .minor) == .automaticRepair)
        }
    }

    @Test func stuckOrOutOfRangeWithHealthyBackupIsRepairedEvenWhenMajor() {
        #expect(policy.lookup(cause: .sensorFault, kind: .stuck, severity: .major) == .automaticRepair)
        #expect(policy.lookup(cause: .sensorFault, kind: .outOfRange, severity: .major) == .automaticRepair)
    }

    @Test func stuckSensorWithoutHealthySourceGoesToOperator() {
        #expect(policy.lookup(cause: .sensorFault, kind: .stuck, severity: .major, reason: .noHealthySource) == .operatorIntervention)
        #expect(policy.lookup(cause: .sensorFault, kind: .noise, severity: .minor, reason: .noHealthySource) == .operatorIntervention)
    }

    @Test func majorDriftNeedsAnOperatorForRecalibration() {
        #expect(policy.lookup(cause: .sensorFault, kind: .drift, severity: .major) == .operatorIntervention)
    }

    @Test func safetySeverityDrivesOutputsSafeWhateverTheCause() {
        for cause in RootCause.allCases {
            for kind in FindingKind.allCases {
                #expect(policy.lookup(cause: cause, kind: kind, severity: .safety) == .operatorInterventionAndSafeOutputs)
            }
        }
    }

    @Test func safetyLimitReasonDrivesOutputsSafeEvenForAMinorLatencyFinding() {
        #expect(policy.lookup(cause: .deviceFault, kind: .latency, severity: .minor, reason: .safetyLimit) == .operatorInterventionAndSafeOutputs)
    }

    @Test func modelErrorsAndPolicyViolationsGoToOperator() {
        for reason in [EscalationReason.policyViolation, .modelError, .repairFailed, .noHealthySource, .configurationError] {
            #expect(policy.lookup(cause: .sensorFault, kind: .noise, severity: .minor, reason: reason) == .operatorIntervention)
            #expect(policy.decision(for: reason) == .operatorIntervention)
        }
        #expect(policy.lookup(cause: .configurationError, kind: .outOfRange, severity: .minor) == .operatorIntervention)
    }

    @Test func reasonNeverRelaxesASafetyCell() {
        #expect(policy.lookup(cause: .sensorFault, kind: .stuck, severity: .safety, reason: .repairFailed) == .operatorInterventionAndSafeOutputs)
    }

    @Test func processExcursionIsNeverRepaired() {
        for sev in [DiagnosisSeverity.minor, .major] {
            #expect(policy.lookup(cause: .processExcursion, kind: .multivariateT2, severity: sev) == .operatorIntervention)
        }
    }

    @Test func deviceCommunicationFaultsAreRepaired() {
        for kind in [FindingKind.deviceTimeouts, .deviceDisconnected, .deviceCRCErrors, .deviceExceptions] {
            #expect(policy.lookup(cause: .deviceFault, kind: kind, severity: .major) == .automaticRepair)
        }
    }

    @Test func configEntriesOverrideDefaultsInOrder() throws {
        let p = try InterventionPolicy(entries: [
            InterventionPolicyEntry(cause: "sensor_fault", finding: "category:accuracy", severity: "*", decision: "operator_intervention"),
            InterventionPolicyEntry(cause: "sensor_fault", finding: "spike", severity: "minor", decision: "automatic_repair"),
        ], reasons: [InterventionReasonEntry(reason: "repair_failed", decision: "operator_intervention_and_safe_outputs")])
        #expect(p.lookup(cause: .sensorFault, kind: .noise, severity: .minor) == .operatorIntervention)
        #expect(p.lookup(cause: .sensorFault, kind: .spike, severity: .minor) == .automaticRepair)
        #expect(p.lookup(cause: .sensorFault, kind: .spike, severity: .major) == .operatorIntervention)
        #expect(p.lookup(cause: .sensorFault, kind: .latency, severity: .minor) == .automaticRepair)
        #expect(p.lookup(cause: .deviceFault, kind: .latency, severity: .minor, reason: .repairFailed) == .operatorInterventionAndSafeOutputs)
    }

    @Test func unknownNameIsAnErrorListingTheAllowedNames() {
        do {
            _ = try InterventionPolicy(entries: [
                InterventionPolicyEntry(cause: "sensor_fualt", decision: "automatic_repair", path: "monitor.policy[2]")
            ])
            Issue.record("expected an error")
        } catch {
            guard case let .unknownName(path, field, found, expected) = error else { return }
            #expect(path == "monitor.policy[2]")
            #expect(field == "cause")
            #expect(found == "sensor_fualt")
            #expect(expected.contains("sensor_fault"))
            #expect(error.description.contains("monitor.policy[2].cause"))
        }
    }

    @Test func unknownFindingAndDecisionNamesAreErrors() {
        #expect(throws: InterventionPolicyError.self) {
            try InterventionPolicy(entries: [InterventionPolicyEntry(finding: "category:speed", decision: "automatic_repair")])
        }
        #expect(throws: InterventionPolicyError.self) {
            try InterventionPolicy(entries: [InterventionPolicyEntry(decision: "ignore")])
        }
        #expect(throws: InterventionPolicyError.self) {
            try InterventionPolicy(entries: [], reasons: [InterventionReasonEntry(reason: "tired", decision: "automatic_repair")])
        }
    }

    @Test func everyNameRoundTripsThroughConfig() throws {
        for kind in FindingKind.allCases {
            let p = try InterventionPolicy(base: InterventionPolicy(uniform: .operatorIntervention),
                                           entries: [InterventionPolicyEntry(finding: kind.policyName, decision: "automatic_repair")])
            for other in FindingKind.allCases {
                #expect(p.lookup(cause: .busFault, kind: other, severity: .major) == (other == kind ? .automaticRepair : .operatorIntervention))
            }
        }
    }
}
