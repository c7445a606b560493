#!/usr/bin/python3
"""Reference vectors for RegisterCodec, computed independently with Python's struct module only.

Regenerate with:
    /usr/bin/python3 Tests/FieldbusTests/Fixtures/make_codec_vectors.py > Tests/FieldbusTests/Fixtures/codec_vectors.csv

Word orders (letters name bytes from most to least significant, registers are 16-bit words as
sent on the wire, high byte first):
  ABCD  big-endian bytes                       struct '>' as is
  DCBA  fully little-endian bytes              struct '<' as is
  CDAB  16-bit words in reverse order          struct '>' then reverse the list of words
  BADC  words in order, bytes swapped in each  struct '>' then swap the two bytes of each word
For 64-bit values CDAB reverses all four words. 16-bit values have one word: CDAB = ABCD, BADC = DCBA.

Columns: type, order, registers (hex words, space separated), expected, roundtrip, note.
  type      bool, int16 ... float64, or bitfield:BIT:WIDTH (BIT 0 = least significant).
  expected  integers in decimal; bool as true/false; floats as float.hex() (exact, including -0.0
            and subnormals; float32 values are widened to double exactly).
  roundtrip 1 when encoding the expected value must reproduce the registers exactly (0 for
            non-canonical bools such as 0xFF00, which decode to true but encode as 0x0001).
  note      repr() of floats, for humans.
"""
import struct

ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]

FORMATS = {
    "int16": "h", "uint16": "H",
    "int32": "i", "uint32": "I",
    "int64": "q", "uint64": "Q",
    "float32": "f", "float64": "d",
}


def words_of(data):
    return [struct.unpack(">H", data[i:i + 2])[0] for i in range(0, len(data), 2)]


def registers(fmt, value, order):
    if order == "ABCD":
        return words_of(struct.pack(">" + fmt, value))
    if order == "DCBA":
        return words_of(struct.pack("<" + fmt, value))
    big = struct.pack(">" + fmt, value)
    if order == "CDAB":
        return list(reversed(words_of(big)))
    if order == "BADC":
        swapped = b"".join(big[i + 1:i + 2] + big[i:i + 1] for i in range(0, len(big), 2))
        return words_of(swapped)
    raise ValueError(order)


def hexwords(words):
    return " ".join("%04X" % w for w in words)


def f32(x):
    """The float32 nearest x, as an exact Python float."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


def bits_to_f32(bits):
    return struct.unpack(">f", struct.pack(">I", bits))[0]


def bits_to_f64(bits):
    return struct.unpack(">d", struct.pack(">Q", bits))[0]


P53 = 2 ** 53 + 1
VALUES = {
    "int16": [0, 1, -1, -2, 0x1234, -(2 ** 15), 2 ** 15 - 1],
    "uint16": [0, 1, 0x1234, 0x8000, 0xFFFE, 2 ** 16 - 1],
    "int32": [0, 1, -1, 65536, 0x12345678, -123456789, -(2 ** 31), 2 ** 31 - 1],
    "uint32": [0, 1, 65535, 65536, 0x12345678, 2 ** 31, 2 ** 32 - 1],
    "int64": [0, 1, -1, 0x0102030405060708, P53, -P53, 2 ** 53, -(2 ** 63), 2 ** 63 - 1],
    "uint64": [0, 1, 0x0102030405060708, P53, 2 ** 63, 2 ** 64 - 1],
    "float32": [
        0.0, -0.0, 1.0, -1.0, f32(3.141592653589793), f32(0.1), f32(-123.456), f32(1e30),
        bits_to_f32(0x00000001),  # smallest subnormal
        bits_to_f32(0x007FFFFF),  # largest subnormal
        bits_to_f32(0x00800000),  # smallest normal
        bits_to_f32(0x7F7FFFFF),  # largest finite
        bits_to_f32(0xFF7FFFFF),  # most negative finite
        bits_to_f32(0x12345678),  # distinct bytes
    ],
    "float64": [
        0.0, -0.0, 1.0, -1.0, 3.141592653589793, 2.718281828459045, 0.1, 1e300, -1e300,
        float(P53),  # 2^53 + 1 rounds to 2^53 as a double
        bits_to_f64(0x0000000000000001),  # smallest subnormal (5e-324)
        bits_to_f64(0x000FFFFFFFFFFFFF),  # largest subnormal
        bits_to_f64(0x0010000000000000),  # smallest normal
        bits_to_f64(0x7FEFFFFFFFFFFFFF),  # largest finite
        bits_to_f64(0x0102030405060708),  # distinct bytes
    ],
}

# (bit, width, register as sent on the wire). A bit field lives in one register; the BADC and
# DCBA orders swap its two bytes before the bits are taken.
BITFIELDS = [
    (0, 1, 0x0001), (0, 1, 0xFFFE), (15, 1, 0x8000), (15, 1, 0x0080), (4, 4, 0x12F4), (8, 8, 0xAB12),
    (3, 5, 0xFFFF), (0, 16, 0xBEEF), (7, 2, 0x0180), (12, 4, 0xA000),
]


def bitfield_value(bit, width, register, order):
    data = struct.pack(">H", register)
    if order in ("BADC", "DCBA"):
        word = struct.unpack("<H", data)[0]
    else:
        word = struct.unpack(">H", data)[0]
    return (word >> bit) & ((1 << width) - 1)


def main():
    print(__doc__.strip().replace("\n", "\n# ").join(["# ", ""]))
    print("type,order,registers,expected,roundtrip,note")
    for order in ORDERS:
        for register, expected, roundtrip in [(0x0000, "false", 1), (0x0001, "true", 1), (0xFF00, "true", 0),
                                              (0x8000, "true", 0), (0xFFFF, "true", 0)]:
            print("bool,%s,%04X,%s,%d," % (order, register, expected, roundtrip))
    for type_name, fmt in FORMATS.items():
        for order in ORDERS:
            for value in VALUES[type_name]:
                regs = hexwords(registers(fmt, value, order))
                if fmt in "fd":
                    print("%s,%s,%s,%s,1,%r" % (type_name, order, regs, value.hex(), value))
                else:
                    print("%s,%s,%s,%d,1," % (type_name, order, regs, value))
    for order in ORDERS:
        for bit, width, register in BITFIELDS:
            value = bitfield_value(bit, width, register, order)
            print("bitfield:%d:%d,%s,%04X,%d,1," % (bit, width, order, register, value))


if __name__ == "__main__":
    main()
