import Control
import Testing
import VigilCore

/// A small plant: a pressure group (A primary, B backup), a level sensor, an e-stop; two pumps and a valve.
func testPlant(controlMode: ControlMode = .auto) -> PlantConfig {
    func sensor(_ id: String) -> SensorConfig {
        SensorConfig(id: id, source: .point(device: "plc", point: id), rangeMin: 0, rangeMax: 100)
    }
    func output(_ id: String, initial: Double, safe: Double) -> OutputConfig {
        OutputConfig(id: id, target: .point(device: "plc", point: id), initial: initial, safe: safe)
    }
    return PlantConfig(
        name: "test",
        sensors: [sensor("PT-A"), sensor("PT-B"), sensor("LT"), sensor("ESTOP")],
        redundancyGroups: [RedundancyGroupConfig(id: "pressure", primary: "PT-A", backups: ["PT-B"])],
        outputs: [output("pump1-speed", initial: 0, safe: 0), output("pump2-run", initial: 0, safe: 0),
                  output("valve", initial: 65, safe: 5), output("beacon", initial: 0, safe: 1)],
        limits: [LimitConfig(id: "level-low-low", subject: "LT", low: 0.5, severity: .interlock, safeOutputs: ["pump1-speed", "pump2-run"]),
                 LimitConfig(id: "pressure-high", subject: "pressure", high: 8.5, severity: .alarm),
                 LimitConfig(id: "estop", subject: "ESTOP", high: 0.5, severity: .interlock,
                             safeOutputs: ["pump1-speed", "pump2-run", "valve", "beacon"])],
        controls: [ControlConfig(id: "pressure-pid", input: "pressure", output: "pump1-speed",
                                 law: .pid(PIDLaw(setpoint: 6, kp: 10, ki: 2)), mode: controlMode),
                   ControlConfig(id: "pump2-onoff", input: "pressure", output: "pump2-run",
                                 law: .onOff(OnOffLaw(onAt: 5, offAt: 6.5)))])
}

/// Readings in sensor order: PT-A, PT-B, LT, ESTOP.
func inputs(pa: Reading = good(4), pb: Reading = good(4), level: Reading = good(3), estop: Reading = good(0)) -> [Reading] {
    [pa, pb, level, estop]
}

@Suite struct SafeStateTests {
    let dt = 0.01

    @Test func plantStartsInSafeStateUntilTheFirstGoodCycle() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        plan.step(inputs: inputs(pa: .unread, pb: .unread), dtSeconds: dt, into: &out)
        #expect(out == [0, 0, 5, 1])
        #expect(plan.transitions.map(\.kind).contains(.safeStateEntered))
        #expect(plan.safeState.reasons.contains(.startup))
        plan.step(inputs: inputs(), dtSeconds: dt, into: &out)   // first good cycle: still safe, ends start-up
        #expect(out == [0, 0, 5, 1])
        #expect(!plan.safeState.plantInSafeState)
        plan.step(inputs: inputs(), dtSeconds: dt, into: &out)
        #expect(out[1] == 1)          // pressure 4 < 5: pump 2 on
        #expect(out[0] > 0)           // PID pushes up
        #expect(out[2] == 65 && out[3] == 0)
        #expect(plan.transitions.map(\.kind) == [.safeStateLeft])
        #expect(plan.transitions.first?.code == SafeStateReason.startup.rawValue)
    }

    /// The policy's "operator intervention and safe outputs" about the pressure group forces the
    /// outputs of the controls reading it (pump1-speed, pump2-run), not the valve or the beacon; a
    /// member of the group (PT-B) affects the same outputs; LT forces what its interlock would. The
    /// outputs stay safe with good readings until the operator's reset.
    @Test func policyForcedOutputsAreThoseOfTheSubjectAndStayUntilReset() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        let group = plan.sensorIDs.count + 0
        #expect(plan.outputsAffected(bySubject: group) == [0, 1])
        #expect(plan.outputsAffected(bySubject: 1) == [0, 1])
        #expect(plan.outputsAffected(bySubject: 2) == [0, 1])      // LT: level-low-low's safe outputs
        #expect(plan.outputsAffected(bySubject: 3) == [0, 1, 2, 3]) // ESTOP
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        #expect(out[0] > 0 && out[1] == 1 && out[2] == 65)
        #expect(plan.forceSafeOutputs(subject: group) == 2)
        #expect(plan.forceSafeOutputs(subject: group) == 0, "already forced: latched, not counted twice")
        for _ in 0..<5 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        #expect(out[0] == 0 && out[1] == 0, "forced safe although every reading is good")
        #expect(out[2] == 65 && out[3] == 0, "other outputs untouched")
        #expect(!plan.safeState.plantInSafeState)
        #expect(plan.releasePolicyForcedOutputs() == 2)
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        #expect(out[0] > 0 && out[1] == 1)
    }

    @Test func interlockForcesOnlyItsOutputs() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        #expect(out[0] > 0 && out[1] == 1)
        plan.step(inputs: inputs(level: good(0.3)), dtSeconds: dt, into: &out)
        #expect(out[0] == 0 && out[1] == 0)   // pumps safe
        #expect(out[2] == 65 && out[3] == 0)  // valve and beacon untouched
        #expect(plan.transitions.map(\.kind) == [.interlockTripped])
        #expect(plan.transitions.first?.subject == Int32(plan.limitIndex(id: "level-low-low")!))
        plan.step(inputs: inputs(level: good(3)), dtSeconds: dt, into: &out)
        #expect(out[0] > 0 && out[1] == 1)
        #expect(plan.transitions.map(\.kind) == [.interlockCleared])
    }

    @Test func badInterlockSensorForcesItsOutputs() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        plan.step(inputs: inputs(estop: bad), dtSeconds: dt, into: &out)
        #expect(out == [0, 0, 5, 1])
    }

    @Test func operatorValueCannotOverrideAnInterlock() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        plan.setOperatorValue(output: plan.outputIndex(id: "pump2-run")!, 1)
        plan.setOperatorValue(output: plan.outputIndex(id: "valve")!, 80)
        plan.step(inputs: inputs(pa: good(7)), dtSeconds: dt, into: &out)
        #expect(out[1] == 1 && out[2] == 80)   // the operator's values apply when nothing trips
        plan.step(inputs: inputs(pa: good(7), estop: good(1)), dtSeconds: dt, into: &out)
        #expect(out == [0, 0, 5, 1])
        plan.setOperatorValue(output: 2, nil)
        plan.step(inputs: inputs(estop: good(0)), dtSeconds: dt, into: &out)
        #expect(out[2] == 65)
    }

    @Test func manualPIDValueCannotOverrideAnInterlock() throws {
        var plan = try ControlPlan(plant: testPlant(controlMode: .manual))
        var out = plan.makeOutputBuffer()
        plan.setManualOutput(control: 0, 70)
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        #expect(out[0] == 70)
        plan.step(inputs: inputs(level: good(0.1)), dtSeconds: dt, into: &out)
        #expect(out[0] == 0)
    }

    @Test func plantWideReasonForcesEveryOutputAndIsReportedOnce() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        plan.enter(.operatorRequest)
        plan.step(inputs: inputs(), dtSeconds: dt, into: &out)
        #expect(out == [0, 0, 5, 1])
        #expect(plan.transitions.map(\.kind) == [.safeStateEntered])
        #expect(plan.transitions.first?.code == SafeStateReason.operatorRequest.rawValue)
        plan.step(inputs: inputs(), dtSeconds: dt, into: &out)
        #expect(plan.transitions.isEmpty)
        plan.leave(.operatorRequest)
        plan.step(inputs: inputs(), dtSeconds: dt, into: &out)
        #expect(out[2] == 65)
        #expect(plan.transitions.map(\.kind) == [.safeStateLeft])
    }

    @Test func groupFallsBackToFirstGoodBackup() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(pa: good(4)), dtSeconds: dt, into: &out) }
        #expect(out[1] == 1)
        plan.step(inputs: inputs(pa: bad, pb: good(7)), dtSeconds: dt, into: &out)
        #expect(out[1] == 0)   // backup at 7 ≥ 6.5: pump 2 off
    }

    @Test func controlWithBadInputHoldsAndReportsIt() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(), dtSeconds: dt, into: &out) }
        let held = out
        plan.step(inputs: inputs(pa: bad, pb: bad), dtSeconds: dt, into: &out)
        #expect(out == held)
        #expect(plan.transitions.map(\.kind) == [.controlHolding, .controlHolding])
    }

    @Test func nonFiniteRequestGetsTheSafeValue() {
        let outputs = [OutputConfig(id: "o", target: .gpio(line: "L", activeLow: false), initial: 0, safe: 1)]
        var manager = SafeStateManager(outputs: outputs, interlockOutputs: [])
        manager.leave(.startup)
        var out = [0.0]
        var t = TransitionBuffer(capacity: 8)
        manager.resolve(requested: [.infinity], interlocks: InterlockEvaluator(rules: []), into: &out, transitions: &t)
        #expect(out == [1])
        manager.resolve(requested: [.nan], interlocks: InterlockEvaluator(rules: []), into: &out, transitions: &t)
        #expect(out == [0])   // nothing requested: the initial value
    }

    @Test func unresolvableReferencesAreErrors() {
        var plant = testPlant()
        plant.controls.append(ControlConfig(id: "x", input: "PT-A", output: "pump1-speed", law: .onOff(OnOffLaw(onAt: 1, offAt: 2))))
        #expect(throws: ControlPlanError.outputDrivenTwice(output: "pump1-speed", controls: ["pressure-pid", "x"])) {
            _ = try ControlPlan(plant: plant)
        }
        plant = testPlant()
        plant.controls[0].input = "PT-Z"
        #expect(throws: ControlPlanError.unknownInput(control: "pressure-pid", input: "PT-Z")) {
            _ = try ControlPlan(plant: plant)
        }
    }
}

@Suite struct OverrideTrackingTests {
    @Test func pidResumesFromTheSafeValueAfterALongInterlockInsteadOfJumping() throws {
        var plan = try ControlPlan(plant: testPlant())
        var out = plan.makeOutputBuffer()
        for _ in 0..<3 { plan.step(inputs: inputs(pa: good(6)), dtSeconds: 0.01, into: &out) }
        for _ in 0..<6000 { plan.step(inputs: inputs(pa: good(4), level: good(0.1)), dtSeconds: 0.01, into: &out) }
        #expect(out[0] == 0)
        plan.step(inputs: inputs(pa: good(4)), dtSeconds: 0.01, into: &out)
        // Error 2 bar × kp 10 = 20 plus one cycle of integral: not the 100 % a wound-up integral would give.
        #expect(out[0] > 0 && out[0] < 21)
    }

    @Test func trackingMovesTheOutputToTheAppliedValue() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 1, ki: 1), initialOutput: 50)
        pid.step(good(6), dtSeconds: 0.01)
        pid.track(appliedOutput: 0)
        #expect(pid.output == 0)
        #expect(abs(pid.step(good(6), dtSeconds: 0.01)) < 1e-9)
    }
}
