import Monitor
import Testing
@testable import Kernel

/// One root cause, one alarm: when a plant section's SPE is explained by a sensor the per-sensor
/// monitor has already taken out of use (the stuck PT-101A after its failover, seen by hand in
/// `vigil demo`), the section's finding is journalled but does not become a second alarm.
@Suite struct SectionAlarmRuleTests {
    @Test(arguments: [HealthState.faulty, .quarantined, .probation])
    func aSensorFaultOnASensorAlreadyOutOfUseIsNoSecondAlarm(_ health: HealthState) {
        #expect(!CycleKernel.sectionFindingNeedsAnAlarm(cause: .sensorFault, suspectHealth: health))
    }

    @Test(arguments: [HealthState.healthy, .suspect])
    func aSensorFaultOnASensorStillInUseIsAnAlarm(_ health: HealthState) {
        #expect(CycleKernel.sectionFindingNeedsAnAlarm(cause: .sensorFault, suspectHealth: health))
    }

    @Test func anEquipmentAnomalyOrAFindingWithoutASuspectIsAnAlarm() {
        #expect(CycleKernel.sectionFindingNeedsAnAlarm(cause: .processExcursion, suspectHealth: .quarantined))
        #expect(CycleKernel.sectionFindingNeedsAnAlarm(cause: .processExcursion, suspectHealth: nil))
        #expect(CycleKernel.sectionFindingNeedsAnAlarm(cause: .sensorFault, suspectHealth: nil), "no monitor, or no single suspect")
    }
}
