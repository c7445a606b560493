import Testing
import Monitor
import Policy
import Scenarios

/// `vigil model dataset`: labelled samples from the fault campaign, split by run seed.
@Suite struct DatasetCampaignTests {
    /// One short run of every kind, every sample kept (run seed 1: all in train).
    static let everyKind: PolicyDataset = try! DatasetCampaign.generate(
        options: DatasetOptions(runsPerKind: 1, cyclesAfterOnset: 60, stride: 5, healthyShare: 1))

    static func feature(_ name: String) -> Int {
        guard let i = SensorFeatures.index(name) else { fatalError("no feature \(name)") }
        return i
    }

    static func label(_ name: String) -> Int { PolicyLabels.diagnosis(name)! }
    static func action(_ name: String) -> Int { PolicyLabels.action(name)! }

    @Test func sameOptionsGiveTheSameDatasetAndAnotherSeedAnother() throws {
        let options = DatasetOptions(runsPerKind: 1, cyclesAfterOnset: 40, stride: 4, healthyShare: 0.5, kinds: [.bias, .spike])
        let a = try DatasetCampaign.generate(options: options)
        let b = try DatasetCampaign.generate(options: options)
        #expect(!a.train.isEmpty)
        #expect(a == b)
        var other = options
        other.baseSeed = 2
        let c = try DatasetCampaign.generate(options: other)
        #expect(c != a)
    }

    @Test func splitsHoldDisjointRunSeedsChosenBySeedModuloTen() throws {
        let d = try DatasetCampaign.generate(options: DatasetOptions(runsPerKind: 10, cyclesAfterOnset: 20, stride: 10, healthyShare: 1, kinds: [.stuck]))
        let train = Set(d.trainOrigins.map(\.runSeed))
        let validation = Set(d.validationOrigins.map(\.runSeed))
        let test = Set(d.testOrigins.map(\.runSeed))
        #expect(train == [1, 2, 3, 4, 5, 6, 10])
        #expect(validation == [7])
        #expect(test == [8, 9])
        #expect(train.isDisjoint(with: validation) && train.isDisjoint(with: test) && validation.isDisjoint(with: test))
        #expect(d.runs.count == 10)
        for run in d.runs { #expect(run.split == DatasetSplit(runSeed: run.seed)) }
        #expect(d.train.count == d.trainOrigins.count && d.validation.count == d.validationOrigins.count && d.test.count == d.testOrigins.count)
    }

    @Test func everyClassAndEveryActionAppearsInTrain() {
        let (classes, actions) = Self.everyKind.counts(.train)
        for (name, n) in zip(PolicyLabels.diagnoses, classes) { #expect(n > 0, "no \(name) sample") }
        for (name, n) in zip(PolicyLabels.actions, actions) { #expect(n > 0, "no \(name) sample") }
    }

    @Test func featuresHaveTheMonitorsSchemaAndAreFinite() {
        let d = Self.everyKind
        #expect(d.featureNames == SensorFeatures.names)
        for s in d.train + d.validation + d.test {
            #expect(s.features.count == SensorFeatures.count)
            let finite = s.features.allSatisfy { $0.isFinite }
            #expect(finite)
        }
    }

    /// Labels follow the injected fault, and the features of the sample agree with the simulation
    /// (so the origin really is the faulty sensor, not just what the labelling code says).
    @Test func labelsMatchTheInjectedFaults() throws {
        let d = Self.everyKind
        let healthy = Self.label("healthy")
        let stuck = Self.feature("stuck"), badQuality = Self.feature("bad_quality"), silence = Self.feature("silence")
        let margin = Self.feature("range_margin"), spike = Self.feature("spike")
        let grouped: Set<Int> = [0, 1, 2, 3, 4] // P-A, P-B, P-C, T-A, T-B; F-1 and L-1 are alone
        for run in d.runs {
            let rows = zip(d.train, d.trainOrigins).filter { $0.1.runSeed == run.seed && $0.1.kind == run.kind }
            #expect(!rows.isEmpty)
            #expect(rows.allSatisfy { $0.1.cycle >= run.onset })
            for (s, o) in rows {
                let since = o.cycle - run.onset
                if run.kind == .excursion {
                    if run.excursionMembers.contains(o.sensor) && since < 60 {
                        #expect(s.label == Self.label("excursion") && s.action == Self.action("trust"))
                    } else if !run.excursionMembers.contains(o.sensor) {
                        #expect(s.label == healthy)
                    }
                    continue
                }
                guard o.sensor == run.sensor else {
                    #expect(s.label == healthy && s.action == Self.action("trust"), "\(run.kind) run: sensor \(o.sensor) should be healthy")
                    continue
                }
                let backup = grouped.contains(o.sensor)
                let repair = Self.action(backup ? "fail_over" : "escalate")
                switch run.kind {
                case .stuck:
                    #expect(s.label == Self.label("stuck") && s.action == repair)
                    if since >= 3 { #expect(s.features[stuck] >= 1) }
                case .timeout, .disconnect:
                    #expect(s.label == Self.label("dropout") && s.action == Self.action(backup ? "fail_over" : "hold"))
                    #expect(s.features[badQuality] > 0)
                case .dropout:
                    #expect(s.label == Self.label("dropout") && s.action == Self.action(backup ? "fail_over" : "hold"))
                    #expect(s.features[silence] > 0)
                case .outOfRange:
                    #expect(s.label == Self.label("bias") && s.action == repair)
                    #expect(s.features[margin] < 0)
                case .bias:
                    #expect(s.label == Self.label("bias") && s.action == repair)
                case .drift:
                    #expect(s.label == Self.label("drift") && s.action == repair)
                case .noise:
                    #expect(s.label == Self.label("noise") && s.action == repair)
                case .spike:
                    if s.label == Self.label("spike") {
                        #expect(s.action == Self.action("trust"))
                        #expect(s.features[spike] >= 1, "a spike sample shows the spike")
                    } else {
                        #expect(s.label == healthy)
                    }
                case .excursion:
                    break
                }
            }
        }
        // The spike run has both spike samples and healthy samples of the spiking sensor between spikes.
        let spikeRun = try #require(d.runs.first { $0.kind == .spike })
        let spiking = zip(d.train, d.trainOrigins).filter { $0.1.kind == .spike && $0.1.sensor == spikeRun.sensor }.map { $0.0.label }
        #expect(spiking.contains(Self.label("spike")) && spiking.contains(healthy))
    }

    @Test func csvHasTheHeaderAndOneRowPerSample() {
        let d = Self.everyKind
        let lines = DatasetCampaign.csv(d).split(separator: "\n")
        #expect(lines.first == Substring((["split", "run_seed", "sensor", "label", "action"] + SensorFeatures.names).joined(separator: ",")))
        #expect(lines.count == 1 + d.train.count + d.validation.count + d.test.count)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 5 + SensorFeatures.count })
        #expect(lines[1].hasPrefix("train,1,"))
    }

    @Test func invalidOptionsAreRefused() {
        #expect(throws: DatasetError.self) { try DatasetCampaign.generate(options: DatasetOptions(stride: 0)) }
        #expect(throws: DatasetError.self) { try DatasetCampaign.generate(options: DatasetOptions(healthyShare: 1.5)) }
    }
}
