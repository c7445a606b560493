import VigilCore
import Control
import Journal
