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

    /// Upper quantile χ²(1−α; h) for real h > 0 by the Wilson–Hilferty cube-root approximation
    /// (within about 1 % for h ≥ 2; the scaled-χ² limits fit h from the statistic's moments).
    static func chiSquareQuantile(upperTail alpha: Double, degreesOfFreedom h: Double) -> Double {
        let z = normalQuantile(1 - alpha)
        let c = 2 / (9 * h)
        let u = max(0, 1 - c + z * c.squareRoot())
        return h * u * u * u
    }

    /// The (1−α) quantile of a statistic whose distribution is taken as g·χ²_h with the mean and
    /// variance given (Box's moment match, as in the SPE limit). Infinite when the variance is 0.
    static func scaledChiSquareLimit(alpha: Double, mean: Double, variance: Double) -> Double {
        guard mean > 0, variance > 0 else { return mean > 0 ? mean : .infinity }
        let g = variance / (2 * mean), h = 2 * mean * mean / variance
        return g * chiSquareQuantile(upperTail: alpha, degreesOfFreedom: h)
    }

    /// √(a² + b²) without overflow or destructive underflow.
    static func hypot(_ a: Double, _ b: Double) -> Double {
        let x = abs(a), y = abs(b)
        let big = max(x, y), small = min(x, y)
        guard big > 0 else { return 0 }
        let r = small / big
        return big * (1 + r * r).squareRoot()
    }

    /// Eigen-decomposition of the symmetric n×n matrix `a` (row-major, read only) by Householder
    /// tridiagonalisation and the implicit QL method (EISPACK tred2/tql2, as in JAMA): O(n³) with a
    /// small constant, against Jacobi's many sweeps. On return `values` holds the eigenvalues sorted
    /// descending and column j of `vectors` (row-major n×n) the unit eigenvector of value j.
    /// `scratch` holds n values. Returns false if an eigenvalue did not converge in 60 iterations.
    @discardableResult
    static func symmetricEigenQL(_ a: UnsafeBufferPointer<Double>, values d: UnsafeMutableBufferPointer<Double>,
                                 vectors v: UnsafeMutableBufferPointer<Double>, scratch e: UnsafeMutableBufferPointer<Double>,
                                 n: Int) -> Bool {
        guard n > 0 else { return true }
        for i in 0..<(n * n) { v[i] = a[i] }
        if n == 1 {
            d[0] = a[0]
            v[0] = 1
            return true
        }
        // tred2: V holds the matrix; reduce to tridiagonal (d diagonal, e subdiagonal), accumulating the transform.
        for j in 0..<n { d[j] = v[(n - 1) * n + j] }
        var i = n - 1
        while i > 0 {
            var scale = 0.0, h = 0.0
            for k in 0..<i { scale += abs(d[k]) }
            if scale == 0 {
                e[i] = d[i - 1]
                for j in 0..<i {
                    d[j] = v[(i - 1) * n + j]
                    v[i * n + j] = 0
                    v[j * n + i] = 0
                }
            } else {
                for k in 0..<i {
                    d[k] /= scale
                    h += d[k] * d[k]
                }
                var f = d[i - 1]
                var g = h.squareRoot()
                if f > 0 { g = -g }
                e[i] = scale * g
                h -= f * g
                d[i - 1] = f - g
                for j in 0..<i { e[j] = 0 }
                for j in 0..<i {
                    f = d[j]
                    v[j * n + i] = f
                    g = e[j] + v[j * n + j] * f
                    var k = j + 1
                    while k <= i - 1 {
                        g += v[k * n + j] * d[k]
                        e[k] += v[k * n + j] * f
                        k += 1
                    }
                    e[j] = g
                }
                f = 0
                for j in 0..<i {
                    e[j] /= h
                    f += e[j] * d[j]
                }
                let hh = f / (h + h)
                for j in 0..<i { e[j] -= hh * d[j] }
                for j in 0..<i {
                    f = d[j]
                    g = e[j]
                    for k in j...(i - 1) { v[k * n + j] -= f * e[k] + g * d[k] }
                    d[j] = v[(i - 1) * n + j]
                    v[i * n + j] = 0
                }
            }
            d[i] = h
            i -= 1
        }
        for i in 0..<(n - 1) {
            v[(n - 1) * n + i] = v[i * n + i]
            v[i * n + i] = 1
            let h = d[i + 1]
            if h != 0 {
                for k in 0...i { d[k] = v[k * n + i + 1] / h }
                for j in 0...i {
                    var g = 0.0
                    for k in 0...i { g += v[k * n + i + 1] * v[k * n + j] }
                    for k in 0...i { v[k * n + j] -= g * d[k] }
                }
            }
            for k in 0...i { v[k * n + i + 1] = 0 }
        }
        for j in 0..<n {
            d[j] = v[(n - 1) * n + j]
            v[(n - 1) * n + j] = 0
        }
        v[(n - 1) * n + n - 1] = 1
        e[0] = 0

        // tql2: diagonalise the tridiagonal matrix by implicit QL with Wilkinson-like shifts.
        for i in 1..<n { e[i - 1] = e[i] }
        e[n - 1] = 0
        var f = 0.0, tst1 = 0.0
        let eps = Double.ulpOfOne
        var converged = true
        for l in 0..<n {
            tst1 = max(tst1, abs(d[l]) + abs(e[l]))
            var m = l
            while m < n - 1 && abs(e[m]) > eps * tst1 { m += 1 }
            if m > l {
                var iterations = 0
                repeat {
                    iterations += 1
                    var g = d[l]
                    var p = (d[l + 1] - g) / (2 * e[l])
                    var r = hypot(p, 1)
                    if p < 0 { r = -r }
                    d[l] = e[l] / (p + r)
                    d[l + 1] = e[l] * (p + r)
                    let dl1 = d[l + 1]
                    var h = g - d[l]
                    var k = l + 2
                    while k < n { d[k] -= h; k += 1 }
                    f += h
                    p = d[m]
                    var c = 1.0, c2 = 1.0, c3 = 1.0
                    let el1 = e[l + 1]
                    var s = 0.0, s2 = 0.0
                    var ii = m - 1
                    while ii >= l {
                        c3 = c2
                        c2 = c
                        s2 = s
                        g = c * e[ii]
                        h = c * p
                        r = hypot(p, e[ii])
                        e[ii + 1] = s * r
                        s = e[ii] / r
                        c = p / r
                        p = c * d[ii] - s * g
                        d[ii + 1] = h + s * (c * g + s * d[ii])
                        for kk in 0..<n {
                            let vk1 = v[kk * n + ii + 1], vk = v[kk * n + ii]
                            v[kk * n + ii + 1] = s * vk + c * vk1
                            v[kk * n + ii] = c * vk - s * vk1
                        }
                        ii -= 1
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1
                    e[l] = s * p
                    d[l] = c * p
                    if iterations >= 60 { converged = false; break }
                } while abs(e[l]) > eps * tst1
            }
            d[l] += f
            e[l] = 0
        }
        // Selection sort, descending, swapping eigenvector columns along.
        for i in 0..<n {
            var best = i
            for j in (i + 1)..<max(i + 1, n) where d[j] > d[best] { best = j }
            if best != i {
                let t = d[i]
                d[i] = d[best]
                d[best] = t
                for k in 0..<n {
                    let tv = v[k * n + i]
                    v[k * n + i] = v[k * n + best]
                    v[k * n + best] = tv
                }
            }
        }
        return converged
    }

    /// Eigen-decomposition of the symmetric n×n matrix `a` (row-major) by cyclic Jacobi rotations: the
    /// plain reference `symmetricEigenQL` is tested against.
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
