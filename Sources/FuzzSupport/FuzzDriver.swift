// Runs libFuzzer from a Swift `main`: SwiftPM links an executable through its own entry point, so
// each harness's `main` calls libFuzzer's driver on its `LLVMFuzzerTestOneInput` instead of relying
// on libFuzzer's `main`. Fuzz builds only (scripts/fuzz: `-DVIGIL_FUZZ -sanitize=fuzzer,address`);
// a plain build makes each harness a stub that says how to build it.
#if canImport(Glibc)
import Glibc
#endif

/// A harness's entry point: libFuzzer in a fuzz build, a one-line hint otherwise.
public func fuzzMain<T>(_ harness: T.Type) {
    #if VIGIL_FUZZ
    runFuzzer(LLVMFuzzerTestOneInput)
    #else
    print("\(T.self) is a libFuzzer harness: build and run it with scripts/fuzz")
    #endif
}

#if VIGIL_FUZZ
@_silgen_name("LLVMFuzzerTestOneInput")
private func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32

public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ target: FuzzTarget) -> Int32

/// Hands the process to libFuzzer with `target` as the function under test; never returns.
public func runFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}

/// The input as bytes (libFuzzer may pass a null pointer for the empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
#endif
