/// Tuning knobs a strategy may read; each strategy documents which it uses
/// and ignores the rest.
public struct StrategyOptions: Hashable, Sendable {
    /// Query rows × key columns of one tile (`--tile RxC`); `nil` is the
    /// kernel's measured default.
    public var tile: TileSize?
    /// The tile kernel (`--kernel NAME`); `nil` is ``KernelTable/defaultKernel``.
    public var kernel: KernelID?

    public init(tile: TileSize? = nil, kernel: KernelID? = nil) {
        self.tile = tile
        self.kernel = kernel
    }
}

/// A tile of `rows` queries by `columns` keys.
public struct TileSize: Hashable, Sendable, Codable, CustomStringConvertible {
    public var rows: Int
    public var columns: Int

    public init(rows: Int, columns: Int) throws {
        guard rows >= 1, columns >= 1 else {
            throw AttentionError.invalidShape("tile sizes must be at least 1x1, got \(rows)x\(columns)")
        }
        self.rows = rows
        self.columns = columns
    }

    /// A tile whose sizes the caller knows to be at least 1 (defaults,
    /// sizes cut to a problem's lengths): a precondition, not an error.
    public init(validRows rows: Int, columns: Int) {
        precondition(rows >= 1 && columns >= 1, "tile sizes must be at least 1x1, got \(rows)x\(columns)")
        self.rows = rows
        self.columns = columns
    }

    /// Parses `RxC` (for example `64x256`).
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1 else {
            throw AttentionError.invalidShape("tile '\(text)' must be ROWSxCOLUMNS with both ≥ 1, for example 64x256")
        }
        try self.init(rows: r, columns: c)
    }

    public var description: String { "\(rows)x\(columns)" }

    private enum CodingKeys: String, CodingKey { case rows, columns }

    /// Decodes `{"rows": R, "columns": C}` under the same rule as
    /// ``init(rows:columns:)``: a tile read from a file is untrusted input.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try c.decode(Int.self, forKey: .rows), columns = try c.decode(Int.self, forKey: .columns)
        do { try self.init(rows: rows, columns: columns) } catch let e as AttentionError {
            throw DecodingError.dataCorruptedError(forKey: .rows, in: c, debugDescription: e.description)
        }
    }
}
