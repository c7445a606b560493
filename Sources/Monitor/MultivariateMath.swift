/// The little numerics the multivariate monitor needs, in plain Swift: Monitor imports no math library.
/// Every routine works in caller-provided storage and does not allocate.
enum MultivariateMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm (x > 0): x = s·2^e, ln s = 2·atanh((s−1)/(s+1)) by its series. ≈ 1 ulp-ish.
    static func log(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == 0 ? -.infinity : (x.isInfinite ? .infinity : .nan) }
        let e = Double(x.exponent)
        let s = x.significand // [1, 2)
        let y = (s - 1) / (s + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var k = 1.0
        while k < 60 {
            sum += term / k
            term *= y2
            k += 2
            if abs(term) < 1e-18 { break }
        }
        return e * ln2 + 2 * sum
    }

    /// e^x: x = k·ln2 + r with |r| ≤ ln2/2, Taylor series for e^r, then scaled by 2^k.
    static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x > 709 { return .infinity }
        if x < -745 { return 0 }
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0
        var sum = 1.0
        var n = 1.0
        while n < 30 {
            term *= r / n
            sum += term
            if abs(term) < 1e-18 { break }
            n += 1
        }
        return sum * pow2(Int(k))
    }

    static func pow2(_ k: Int) -> Double {
        Double(sign: .plus, exponent: k, significand: 1)
    }

    /// x^y for x > 0.
    static func pow(_ x: Double, _ y: Double) -> Double { exp(y * log(x)) }

    private static let acklamA: [Double] = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    private static let acklamB: [Double] = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
    private static let acklamC: [Double] = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    private static let acklamD: [Double] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]

    /// Standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9).
    static func normalQuantile(_ p: Double) -> Double {
        let a = acklamA, b = acklamB, c = acklamC, d = acklamD
        let low = 0.02425
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        if p > 1 - low {
            let q = (-2 * log(1 - p)).squareRoot()
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5
        let r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }

    /// Upper quantile F(1−α; d1, d2) by Paulson's normal approximation (cube-root transform);
    /// within about 1 % of the exact value for d2 ≥ 30, which the model's minimum sample count ensures.
    static func fQuantile(upperTail alpha: Double, d1: Double, d2: Double) -> Double {
        let z = normalQuantile(1 - alpha)
        let c1 = 2 / (9 * d1), c2 = 2 / (9 * d2)
        let a = 1 - c2, b = 1 - c1
        let qa = a * a - z * z * c2
        let disc = a * a * b * b - qa * (b * b - z * z * c1)
        guard qa > 0, disc >= 0 else { return .infinity }
        let u = (a * b + disc.squareRoot()) / qa
        return u * u * u
    }

    /// Hotelling T² upper control limit for a new observation, k components, n training samples:
    /// k(n−1)(n+1) / (n(n−k)) · F(1−α; k, n−k).
    static func t2Limit(alpha: Double, components k: Int, samples n: Int) -> Double {
        let kd = Double(k), nd = Double(n)
        return kd * (nd - 1) * (nd + 1) / (nd * (nd - kd)) * fQuantile(upperTail: alpha, d1: kd, d2: nd - kd)
    }

    /// Jackson–Mudholkar upper limit of SPE (Q) from the residual eigenvalues `eigenvalues[k..<m]`.
    static func speLimit(alpha: Double, eigenvalues: UnsafeBufferPointer<Double>, components k: Int) -> Double {
        var t1 = 0.0, t2 = 0.0, t3 = 0.0
        for j in k..<eigenvalues.count {
            let l = max(eigenvalues[j], 0)
            t1 += l
            t2 += l * l
            t3 += l * l * l
        }
        guard t1 > 0, t2 > 0 else { return 0 }
        var h0 = 1 - 2 * t1 * t3 / (3 * t2 * t2)
        if h0 < 0.001 { h0 = 0.001 }
        let z = normalQuantile(1 - alpha)
        let inner = z * (2 * t2 * h0 * h0).squareRoot() / t1 + 1 + t2 * h0 * (h0 - 1) / (t1 * t1)
        guard inner > 0 else { return .infinity }
        return t1 * pow(inner, 1 / h0)
    }

    /// Eigen-decomposition of the symmetric n×n matrix `a` (row-major) by cyclic Jacobi rotations.
    /// On return the diagonal of `a` holds the eigenvalues, sorted descending, and column j of `v`
    /// (row-major n×n) the unit eigenvector of eigenvalue j. Returns the sweeps used.
    @discardableResult
    static func symmetricEigen(_ a: UnsafeMutableBufferPointer<Double>, _ v: UnsafeMutableBufferPointer<Double>,
                               n: Int, maxSweeps: Int = 64) -> Int {
        for i in 0..<n { for j in 0..<n { v[i * n + j] = i == j ? 1 : 0 } }
        var sweeps = 0
        while sweeps < maxSweeps {
            var off = 0.0, diag = 0.0
            for p in 0..<n {
                diag += a[p * n + p] * a[p * n + p]
                for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] }
            }
            if off <= 1e-30 * max(diag, 1e-300) { break }
            sweeps += 1
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let app = a[p * n + p], aqq = a[q * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        // Selection sort, descending, swapping eigenvector columns along.
        for i in 0..<n {
            var best = i
            for j in (i + 1)..<max(i + 1, n) where a[j * n + j] > a[best * n + best] { best = j }
            if best != i {
                let tmp = a[i * n + i]
                a[i * n + i] = a[best * n + best]
                a[best * n + best] = tmp
                for k in 0..<n {
                    let t = v[k * n + i]
                    v[k * n + i] = v[k * n + best]
                    v[k * n + best] = t
                }
            }
        }
        return sweeps
    }
}
