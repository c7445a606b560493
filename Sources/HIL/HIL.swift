import VigilCore
import Fieldbus
