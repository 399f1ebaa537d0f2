//! The Huffman tree of hierarchical softmax: frequent words get short codes, so predicting a
//! word costs O(log V) sigmoid units (one per inner node on its path) instead of a V-way softmax.

/// Each word's path from the root: the inner nodes visited (`points`, indices into the output
/// matrix of V - 1 rows) and the branch taken at each (`codes`, 0 or 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HuffmanCodes {
    /// Per word, its bits from the root down.
    pub codes: Vec<Vec<u8>>,
    /// Per word, the inner nodes from the root down (same length as its code).
    pub points: Vec<Vec<u32>>,
}

impl HuffmanCodes {
    /// Builds the tree over `counts`, which must be sorted in descending order (the vocabulary
    /// order), the way the C tool does: two cursors merge the two lightest nodes, the heavier
    /// child of each merge gets bit 1.
    pub fn build(counts: &[u64]) -> HuffmanCodes {
        let v = counts.len();
        if v < 2 {
            return HuffmanCodes { codes: vec![Vec::new(); v], points: vec![Vec::new(); v] };
        }
        let mut weight: Vec<u64> = counts.to_vec();
        weight.resize(2 * v - 1, u64::MAX);
        let mut parent = vec![0usize; 2 * v - 1];
        let mut bit = vec![0u8; 2 * v - 1];
        let (mut leaf, mut inner) = (v as isize - 1, v);
        let mut lightest = |weight: &[u64]| {
            if leaf >= 0 && weight[leaf as usize] < weight[inner] {
                leaf -= 1;
                (leaf + 1) as usize
            } else {
                inner += 1;
                inner - 1
            }
        };
        for node in v..2 * v - 1 {
            let first = lightest(&weight);
            let second = lightest(&weight);
            weight[node] = weight[first] + weight[second];
            parent[first] = node;
            parent[second] = node;
            bit[second] = 1;
        }
        let root = 2 * v - 2;
        let mut codes = Vec::with_capacity(v);
        let mut points = Vec::with_capacity(v);
        for word in 0..v {
            let (mut code, mut path) = (Vec::new(), Vec::new());
            let mut node = word;
            while node != root {
                code.push(bit[node]);
                node = parent[node];
                path.push((node - v) as u32);
            }
            code.reverse();
            path.reverse();
            codes.push(code);
            points.push(path);
        }
        HuffmanCodes { codes, points }
    }
}

#[cfg(test)]
mod tests {
    use super::HuffmanCodes;

    #[test]
    fn codes_of_a_known_vocabulary() {
        // Merges: words 3 and 2 -> inner 0 (weight 2); inner 0 and word 1 -> inner 1 (4); inner 1
        // and word 0 -> inner 2, the root (9). The second node taken in each merge gets bit 1.
        let tree = HuffmanCodes::build(&[5, 2, 1, 1]);
        assert_eq!(tree.codes, vec![vec![1], vec![0, 1], vec![0, 0, 1], vec![0, 0, 0]]);
        assert_eq!(tree.points, vec![vec![2], vec![2, 1], vec![2, 1, 0], vec![2, 1, 0]]);
        // Prefix-free, and frequent words never get longer codes than rarer ones.
        let counts: Vec<u64> = (1..=50).rev().map(|c| c * c).collect();
        let tree = HuffmanCodes::build(&counts);
        for (i, a) in tree.codes.iter().enumerate() {
            for (j, b) in tree.codes.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a:?} is a prefix of {b:?}");
            }
        }
        assert!(tree.codes.windows(2).all(|w| w[0].len() <= w[1].len()));
        assert!(tree.points.iter().flatten().all(|&p| p < 49));
    }
}
