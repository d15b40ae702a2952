extension SafeTensorsFile {
    /// Checks that every floating-point tensor holds only finite values.
    ///
    /// NaN or infinite weights load without complaint (they are valid IEEE bits) and then
    /// make every logit NaN; this scan finds them up front (`fourm inspect --check`). It reads
    /// every float tensor once, in key order.
    /// - Throws: `WeightError.nonFiniteValue` naming the first tensor, element index and value.
    public func checkFinite() throws(WeightError) {
        for name in names where entries[name]?.dtype.isFloatingPoint == true {
            let tensor = try floatTensor(name)
            let bad: (Int, Float)? = tensor.withUnsafeBufferPointer { values in
                for i in 0..<values.count where !values[i].isFinite { return (i, values[i]) }
                return nil
            }
            if let (index, value) = bad {
                throw .nonFiniteValue(file: path, key: name, index: index, value: value)
            }
        }
    }
}
