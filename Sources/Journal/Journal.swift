import VigilCore
import GRDB
