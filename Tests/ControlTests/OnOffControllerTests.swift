import Control
import Testing
import VigilCore

@Suite struct OnOffControllerTests {
    @Test func fillingLawSwitchesOnAtLowAndOffAtHighAndKeepsStateBetween() {
        var c = OnOffController(law: OnOffLaw(onAt: 2, offAt: 4))
        #expect(c.step(good(3)) == 0)   // between, starts off
        #expect(c.step(good(2)) == 1)   // at onAt: on
        #expect(c.step(good(3.9)) == 1) // between: stays on
        #expect(c.step(good(4)) == 0)   // at offAt: off
        #expect(c.step(good(2.1)) == 0) // between: stays off
        #expect(c.step(good(1)) == 1)
    }

    @Test func coolingLawSwitchesOnAtHighAndOffAtLow() {
        var c = OnOffController(law: OnOffLaw(onAt: 30, offAt: 25, onValue: 100, offValue: 0))
        #expect(c.step(good(27)) == 0)
        #expect(c.step(good(31)) == 100)
        #expect(c.step(good(26)) == 100)
        #expect(c.step(good(25)) == 0)
        #expect(c.step(good(29)) == 0)
    }

    @Test func badInputHoldsLastOutputAndReportsHolding() {
        var c = OnOffController(law: OnOffLaw(onAt: 2, offAt: 4))
        c.step(good(1))
        #expect(c.step(bad) == 1)
        #expect(c.isHolding)
        #expect(c.step(Reading(value: 10, timestampNanoseconds: 0, latencyNanoseconds: 0, quality: .stale(ageNanoseconds: 5))) == 1)
        #expect(c.step(good(5)) == 0)
        #expect(!c.isHolding)
    }
}
