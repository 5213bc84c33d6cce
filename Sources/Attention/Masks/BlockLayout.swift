/// A block-sparse attention layout: the query axis and the key axis are cut
/// into blocks of `blockSize` (the last block of each may be shorter), and
/// each query block lists the key blocks it attends.
///
/// Stored as compressed rows (CSR): the kept key blocks of query block `r`
/// are `columns[rowOffsets[r] ..< rowOffsets[r + 1]]`, ascending.
///
/// With `causal`, the element mask `j ≤ p(i)` (``MaskPattern``) also applies
/// inside kept blocks; the generators then keep no block strictly above the
/// diagonal.
public struct BlockLayout: Hashable, Sendable {
    public let blockSize: Int
    public let queryBlocks: Int
    public let keyBlocks: Int
    public let causal: Bool
    public let rowOffsets: [Int]
    public let columns: [Int]

    /// Builds a layout from the kept key blocks of each query block (any
    /// order, duplicates ignored).
    ///
    /// - Throws: ``AttentionError/invalidPattern(_:)`` when a block index is
    ///   out of range or the block size is below 1.
    public init(blockSize: Int, keyBlocks: Int, rows: [[Int]], causal: Bool = false) throws {
        guard blockSize >= 1 else {
            throw AttentionError.invalidPattern("block size must be at least 1, got \(blockSize)")
        }
        self.blockSize = blockSize
        self.queryBlocks = rows.count
        self.keyBlocks = keyBlocks
        self.causal = causal
        var offsets = [0]
        var cols: [Int] = []
        for (r, row) in rows.enumerated() {
            for c in row where c < 0 || c >= keyBlocks {
                throw AttentionError.invalidPattern("query block \(r) lists key block \(c), outside 0..<\(keyBlocks)")
            }
            cols.append(contentsOf: Set(row).sorted())
            offsets.append(cols.count)
        }
        rowOffsets = offsets
        columns = cols
    }

    /// Bytes a layout of `keptBlocks` kept blocks in `queryBlocks` rows takes
    /// while it is built and after: the CSR arrays plus the per-row lists
    /// and sets the generators fill first.
    public static func bytesWhileBuilding(keptBlocks: Int, queryBlocks: Int) -> Int {
        let (a, o1) = keptBlocks.multipliedReportingOverflow(by: 48)
        let (b, o2) = queryBlocks.multipliedReportingOverflow(by: 96)
        let (sum, o3) = a.addingReportingOverflow(b)
        return o1 || o2 || o3 ? Int.max : sum
    }

    /// Number of blocks of `blockSize` covering `length` (the last may be partial).
    public static func blockCount(_ length: Int, blockSize: Int) -> Int {
        length <= 0 ? 0 : (length - 1) / blockSize + 1
    }

    /// The kept key blocks of query block `row`, ascending.
    public func keptBlocks(ofRow row: Int) -> ArraySlice<Int> { columns[rowOffsets[row] ..< rowOffsets[row + 1]] }

    /// Whether key block `column` is kept for query block `row`.
    public func contains(row: Int, column: Int) -> Bool {
        guard row >= 0, row < queryBlocks else { return false }
        return keptBlocks(ofRow: row).contains(column)  // rows are short; a binary search does not pay
    }

    /// Kept blocks over all blocks.
    public var blockDensity: Double {
        Double(columns.count) / Double(max(1, queryBlocks * keyBlocks))
    }

    /// Checks that the layout covers a problem of these lengths.
    public func validate(queryLength: Int, keyLength: Int) throws {
        let q = Self.blockCount(queryLength, blockSize: blockSize)
        let k = Self.blockCount(keyLength, blockSize: blockSize)
        guard q == queryBlocks, k == keyBlocks else {
            throw AttentionError.invalidPattern(
                "layout has \(queryBlocks)x\(keyBlocks) blocks of \(blockSize); lengths \(queryLength)x\(keyLength) need \(q)x\(k)"
            )
        }
    }
}

// MARK: - Generators

extension BlockLayout {
    /// The key block holding the position of query row `i` (bottom-right
    /// alignment), clamped to the key blocks.
    private static func diagonalBlock(ofQuery i: Int, offset: Int, blockSize: Int, keyBlocks: Int) -> Int {
        let p = i + offset
        return min(max(p, 0) / blockSize, keyBlocks - 1)
    }

    /// The diagonal key blocks of query block `r`: from the block of its first
    /// row's position to the block of its last row's position.
    private static func diagonalRange(row r: Int, queryLength: Int, keyLength: Int, blockSize b: Int) -> ClosedRange<
        Int
    > {
        let keyBlocks = blockCount(keyLength, blockSize: b)
        let offset = keyLength - queryLength
        let first = diagonalBlock(ofQuery: r * b, offset: offset, blockSize: b, keyBlocks: keyBlocks)
        let last = diagonalBlock(
            ofQuery: min((r + 1) * b, queryLength) - 1, offset: offset, blockSize: b, keyBlocks: keyBlocks)
        return first ... last
    }

    /// BigBird (Zaheer et al. 2020) in blocks of `blockSize`:
    /// - window: `windowBlocks` blocks centred on the diagonal (3 = the
    ///   diagonal block and one each side);
    /// - global: the first `globalBlocks` key blocks are attended by every
    ///   query block, and the query blocks on them attend every key block;
    /// - random: `randomBlocks` further key blocks per query block, drawn
    ///   without replacement from the blocks not yet kept, by xoshiro256**
    ///   seeded with `seed` and the row (the same layout for the same seed).
    ///
    /// With `causal`, only blocks on or below the diagonal are kept (random
    /// blocks are drawn from those) and the element mask applies inside.
    public static func bigBird(
        queryLength: Int, keyLength: Int, blockSize b: Int,
        windowBlocks: Int = 3, globalBlocks: Int = 1, randomBlocks: Int = 3,
        seed: UInt64 = 0, causal: Bool = false
    ) throws -> BlockLayout {
        guard b >= 1 else { throw AttentionError.invalidPattern("bigbird block size must be at least 1") }
        let qBlocks = blockCount(queryLength, blockSize: b)
        let kBlocks = blockCount(keyLength, blockSize: b)
        var rows: [[Int]] = []
        for r in 0 ..< qBlocks {
            let diag = diagonalRange(row: r, queryLength: queryLength, keyLength: keyLength, blockSize: b)
            let limit = causal ? diag.upperBound : kBlocks - 1  // highest key block allowed
            var kept = Set<Int>()
            if windowBlocks > 0 {
                let lo = diag.lowerBound - windowBlocks / 2
                let hi = diag.upperBound + (windowBlocks - 1) / 2
                let from = max(lo, 0), to = min(hi, limit)
                if from <= to { for c in from ... to { kept.insert(c) } }
            }
            for c in 0 ..< min(globalBlocks, kBlocks) where c <= limit { kept.insert(c) }
            if diag.lowerBound < globalBlocks {  // a global query block
                for c in 0 ... limit { kept.insert(c) }
            }
            // The pick-th block of (0 ... limit) not yet kept, found by walking
            // the few kept blocks instead of listing every candidate: the same
            // draws as listing them, in O(kept) rather than O(key blocks) per row.
            var excluded = kept.filter { $0 <= limit }.sorted()
            var rng = NormalGenerator(seed: seed, stream: UInt64(r) &+ 0x5EED)
            for _ in 0 ..< min(randomBlocks, limit + 1 - excluded.count) {
                var pick = Int(rng.nextBits() % UInt64(limit + 1 - excluded.count))
                var index = 0
                while index < excluded.count && excluded[index] <= pick {
                    pick += 1
                    index += 1
                }
                kept.insert(pick)
                excluded.insert(pick, at: index)
            }
            rows.append(Array(kept))
        }
        return try BlockLayout(blockSize: b, keyBlocks: kBlocks, rows: rows, causal: causal)
    }

    /// The Sparse Transformer's "fixed" pattern (Child et al. 2019) in blocks:
    /// key blocks are grouped in chunks of `stride` blocks; each query block
    /// attends every block of its own chunk and the last block of every
    /// earlier chunk (the chunk "summaries"). When Nq ≠ Nk a query block's
    /// positions can straddle two chunks; it then attends both. With `causal`, blocks above the
    /// diagonal are dropped and the element mask applies inside.
    public static func fixed(
        queryLength: Int, keyLength: Int, blockSize b: Int, stride: Int,
        causal: Bool = false
    ) throws -> BlockLayout {
        guard b >= 1, stride >= 1 else {
            throw AttentionError.invalidPattern("fixed needs a block size and stride of at least 1")
        }
        let qBlocks = blockCount(queryLength, blockSize: b)
        let kBlocks = blockCount(keyLength, blockSize: b)
        var rows: [[Int]] = []
        for r in 0 ..< qBlocks {
            let diag = diagonalRange(row: r, queryLength: queryLength, keyLength: keyLength, blockSize: b)
            // A query block whose positions straddle chunks belongs to each of them.
            let firstChunk = diag.lowerBound / stride, lastChunk = diag.upperBound / stride
            var kept: [Int] = []
            for chunk in firstChunk ... lastChunk {
                let start = chunk * stride
                kept += Array(start ..< start + min(stride, kBlocks - start))
            }
            for earlier in 0 ..< firstChunk { kept.append(earlier * stride + stride - 1) }
            if causal { kept.removeAll { $0 > diag.upperBound } }
            rows.append(kept)
        }
        return try BlockLayout(blockSize: b, keyBlocks: kBlocks, rows: rows, causal: causal)
    }
}

// MARK: - Layout files

extension BlockLayout {
    /// Reads a layout file. The format, line by line (LF or CRLF line ends):
    ///
    ///     # comments and blank lines are ignored anywhere
    ///     block 64
    ///     1100
    ///     1110
    ///     0111
    ///
    /// The first other line is `block B`; then one line per query block with
    /// one character per key block, `1` attended and `0` not. Every row has
    /// the same number of characters. With `lengths`, a row or a row count
    /// that cannot fit them fails as soon as it is read, so a huge wrong file
    /// costs one pass over its bytes, not a layout built first.
    ///
    /// - Throws: ``AttentionError/invalidLayoutFile(path:line:reason:)`` with
    ///   the line number and what is wrong (quoting at most 40 characters).
    /// - Complexity: O(bytes of the file).
    public static func parse(
        _ text: String, path: String, causal: Bool = false,
        lengths: (query: Int, key: Int)? = nil
    ) throws -> BlockLayout {
        var blockSize: Int?
        var rows: [[Int]] = []
        var width: Int?
        var expected: (rows: Int, columns: Int)?
        let bytes = Array(text.utf8)
        var lineStart = 0, lineNumber = 0
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            lineNumber += 1
            defer { lineStart = lineEnd + 1 }
            // Trim spaces, tabs and a CR (CRLF files).
            var a = lineStart, b = lineEnd
            func blank(_ c: UInt8) -> Bool {
                c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
            }
            while a < b && blank(bytes[a]) { a += 1 }
            while b > a && blank(bytes[b - 1]) { b -= 1 }
            if a == b || bytes[a] == UInt8(ascii: "#") { continue }
            let line = bytes[a ..< b]
            func fail(_ why: String) -> AttentionError { .invalidLayoutFile(path: path, line: lineNumber, reason: why) }
            func quoted() -> String {
                let head = String(decoding: line.prefix(40), as: UTF8.self)
                return line.count > 40 ? "'\(head)…' (\(line.count) characters)" : "'\(head)'"
            }
            guard let size = blockSize else {
                let fields = String(decoding: line, as: UTF8.self).split(
                    separator: " ", omittingEmptySubsequences: true)
                guard line.count < 64, fields.count == 2, fields[0] == "block", let size = Int(fields[1]), size >= 1
                else {
                    throw fail("expected 'block B' with B ≥ 1 before the rows, got \(quoted())")
                }
                blockSize = size
                if let lengths {
                    expected = (blockCount(lengths.query, blockSize: size), blockCount(lengths.key, blockSize: size))
                }
                continue
            }
            if let expected, line.count != expected.columns {
                throw fail(
                    "row has \(line.count) columns; lengths \(lengths!.query)x\(lengths!.key) in blocks of \(size) need \(expected.columns)"
                )
            }
            if let w = width, w != line.count {
                throw fail("row has \(line.count) columns, earlier rows have \(w)")
            }
            if let expected, rows.count == expected.rows {
                throw fail(
                    "more than the \(expected.rows) rows that lengths \(lengths!.query)x\(lengths!.key) in blocks of \(size) need"
                )
            }
            var kept: [Int] = []
            for (c, ch) in line.enumerated() {
                switch ch {
                case UInt8(ascii: "1"): kept.append(c)
                case UInt8(ascii: "0"): break
                default:
                    let shown = ch < 0x80 ? "'\(Character(Unicode.Scalar(ch)))'" : "a non-ASCII byte"
                    throw fail("column \(c + 1) is \(shown); rows hold only 0 and 1")
                }
            }
            width = line.count
            rows.append(kept)
        }
        guard let b = blockSize else {
            throw AttentionError.invalidLayoutFile(path: path, line: nil, reason: "no 'block B' line")
        }
        guard let w = width else {
            throw AttentionError.invalidLayoutFile(path: path, line: nil, reason: "no rows of 0/1 after 'block \(b)'")
        }
        return try BlockLayout(blockSize: b, keyBlocks: w, rows: rows, causal: causal)
    }

    /// The file text that ``parse(_:path:causal:)`` reads back to this layout.
    public func fileText() -> String {
        var out =
            "# attnbench block layout: \(queryBlocks) query blocks x \(keyBlocks) key blocks\nblock \(blockSize)\n"
        for r in 0 ..< queryBlocks {
            var row = [Character](repeating: "0", count: keyBlocks)
            for c in keptBlocks(ofRow: r) { row[c] = "1" }
            out += String(row) + "\n"
        }
        return out
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
