#!/usr/bin/python3
"""An independent Modbus TCP server (Debian's python3-pymodbus) for Vigil's client tests.

Values are packed with Python's `struct`, independently of Vigil's codec. Prints
`READY <port>` once listening on 127.0.0.1 (port 0 = any free port), then serves until
stdin closes, so the test that started it controls its lifetime without sleeps.

Run with Debian's interpreter: /usr/bin/python3 pymodbus_server.py [port]
"""
import asyncio
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
from pymodbus.server.async_io import ModbusTcpServer


def words(fmt, value, order):
    """Registers for `value` packed big-endian with `fmt`, rearranged into `order`."""
    raw = struct.pack(">" + fmt, value)
    ws = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if order in ("CDAB", "DCBA"):
        ws.reverse()
    if order in ("BADC", "DCBA"):
        ws = [w[::-1] for w in ws]
    return [int.from_bytes(w, "big") for w in ws]


def build_context():
    inputs = [0] * 64
    inputs[0:2] = words("f", 3.5, "ABCD")
    inputs[2:4] = words("f", -12.25, "CDAB")
    inputs[4:6] = words("i", -100000, "BADC")
    inputs[6:10] = words("d", 1234.5678, "DCBA")
    inputs[10:14] = words("Q", 2**53 + 1, "ABCD")
    holding = [0] * 64
    holding[0] = 0xFFFF & -1234  # int16 -1234
    holding[1] = 0b0000_0101_1010_0000  # bit field: bits 5..8 = 0b1101 = 13
    coils = [False] * 32
    coils[3] = True
    discretes = [False] * 32
    discretes[0] = True
    discretes[9] = True
    slave = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, discretes),
        co=ModbusSequentialDataBlock(0, coils),
        hr=ModbusSequentialDataBlock(0, holding),
        ir=ModbusSequentialDataBlock(0, inputs),
        zero_mode=True,
    )
    return ModbusServerContext(slaves=slave, single=True)


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ModbusTcpServer(build_context(), address=("127.0.0.1", port), allow_reuse_address=True)
    task = asyncio.ensure_future(server.serve_forever())
    await server.serving
    bound = server.server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # returns when the test closes our stdin
    task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
