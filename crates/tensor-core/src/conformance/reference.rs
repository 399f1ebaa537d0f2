//! An independent f64 reference: dense row-major arrays and the simplest correct loops, with
//! every elementwise, reduction and window formula taken from [`formulas`], never from the
//! backends' `ops.rs`.

use super::formulas;
use crate::{ArgReduceOp, BinaryOp, Layout, ReduceOp, UnaryOp, Window2d};

/// A dense row-major f64 array.
#[derive(Clone, Debug, PartialEq)]
pub struct Ref {
    /// Dimensions.
    pub dims: Vec<usize>,
    /// Elements in row-major order.
    pub data: Vec<f64>,
}

/// Every coordinate of `dims` in row-major order.
pub fn coords(dims: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    for flat in 0..total {
        let mut coord = vec![0; dims.len()];
        let mut rest = flat;
        for axis in (0..dims.len()).rev() {
            coord[axis] = rest % dims[axis];
            rest /= dims[axis];
        }
        out.push(coord);
    }
    out
}

impl Ref {
    /// An array whose element at each coordinate is `f(coord)`.
    pub fn from_fn(dims: &[usize], mut f: impl FnMut(&[usize]) -> f64) -> Ref {
        Ref { dims: dims.to_vec(), data: coords(dims).iter().map(|c| f(c)).collect() }
    }

    /// The elements a layout selects from a flat buffer.
    pub fn view(data: &[f64], layout: &Layout) -> Ref {
        Ref::from_fn(layout.dims(), |c| data[layout.offset_of(c)])
    }

    /// Flat index of a coordinate.
    pub fn index(&self, coord: &[usize]) -> usize {
        coord.iter().zip(&self.dims).fold(0, |acc, (&c, &d)| acc * d + c)
    }

    /// Element at a coordinate.
    pub fn at(&self, coord: &[usize]) -> f64 {
        self.data[self.index(coord)]
    }

    /// Element at a coordinate of a broadcast shape (trailing alignment, size-1 axes repeat).
    pub fn at_broadcast(&self, coord: &[usize]) -> f64 {
        let lead = coord.len() - self.dims.len();
        let c: Vec<usize> =
            self.dims.iter().enumerate().map(|(i, &d)| if d == 1 { 0 } else { coord[lead + i] }).collect();
        self.at(&c)
    }

    /// `op` on every element.
    pub fn unary(&self, op: UnaryOp) -> Ref {
        Ref { dims: self.dims.clone(), data: self.data.iter().map(|&x| formulas::unary(op, x)).collect() }
    }

    /// `op` with NumPy broadcasting.
    pub fn binary(&self, op: BinaryOp, rhs: &Ref) -> Ref {
        let dims = self.binary_dims(rhs);
        Ref::from_fn(&dims, |c| formulas::binary(op, self.at_broadcast(c), rhs.at_broadcast(c)))
    }

    /// The lanes of a reduction over `axes`: the output dims (those axes kept as size 1), the
    /// elements feeding each output in row-major order, and each input element's output index.
    fn lanes(&self, axes: &[usize]) -> (Vec<usize>, Vec<Vec<f64>>, Vec<usize>) {
        let dims: Vec<usize> =
            self.dims.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
        let out = Ref { data: vec![], dims };
        let mut lanes = vec![Vec::new(); out.dims.iter().product()];
        let mut owner = Vec::with_capacity(self.data.len());
        for c in coords(&self.dims) {
            let oc: Vec<usize> = c.iter().enumerate().map(|(i, &x)| if axes.contains(&i) { 0 } else { x }).collect();
            let k = out.index(&oc);
            lanes[k].push(self.at(&c));
            owner.push(k);
        }
        (out.dims, lanes, owner)
    }

    /// Reduction over `axes`, keeping them as size 1, and the sum of |x| per output (the scale
    /// of the rounding error a backend may make).
    pub fn reduce(&self, op: ReduceOp, axes: &[usize]) -> (Ref, Vec<f64>) {
        let (dims, lanes, _) = self.lanes(axes);
        let magnitude = lanes.iter().map(|lane| lane.iter().map(|x| x.abs()).sum()).collect();
        (Ref { dims, data: lanes.iter().map(|lane| formulas::reduce(op, lane)).collect() }, magnitude)
    }

    /// Position of the extreme element along `axis`, kept as size 1.
    pub fn arg_reduce(&self, op: ArgReduceOp, axis: usize) -> Ref {
        let (dims, lanes, _) = self.lanes(&[axis]);
        Ref { dims, data: lanes.iter().map(|lane| formulas::arg_extreme(op, lane) as f64).collect() }
    }

    /// ln Σ e^x along `axis`, kept as size 1.
    pub fn logsumexp(&self, axis: usize) -> Ref {
        let (dims, lanes, _) = self.lanes(&[axis]);
        Ref { dims, data: lanes.iter().map(|lane| formulas::logsumexp(lane)).collect() }
    }

    /// Softmax or log-softmax along `axis` ([`formulas::softmax`]).
    pub fn softmax(&self, axis: usize, log: bool) -> Ref {
        let (_, lanes, owner) = self.lanes(&[axis]);
        let mut results: Vec<std::vec::IntoIter<f64>> =
            lanes.iter().map(|lane| formulas::softmax(lane, log).into_iter()).collect();
        // Each lane's elements come back in the row-major order `lanes` collected them in.
        let data = owner.iter().map(|&k| results[k].next().expect("one result per element")).collect();
        Ref { dims: self.dims.clone(), data }
    }

    /// Batched matmul with broadcast batch axes; also the sum of |a||b| per output.
    pub fn matmul(&self, rhs: &Ref) -> (Ref, Vec<f64>) {
        let (lr, rr) = (self.dims.len(), rhs.dims.len());
        let (m, k, n) = (self.dims[lr - 2], self.dims[lr - 1], rhs.dims[rr - 1]);
        let lb = Ref { dims: self.dims[..lr - 2].to_vec(), data: vec![] };
        let rb = Ref { dims: rhs.dims[..rr - 2].to_vec(), data: vec![] };
        let batch = lb.binary_dims(&rb);
        let mut dims = batch.clone();
        dims.extend([m, n]);
        let (mut data, mut magnitude) = (Vec::new(), Vec::new());
        for b in coords(&batch) {
            // This batch entry's operands as dense row-major matrices.
            let matrix = |r: &Ref, rows: usize, cols: usize| -> Vec<f64> {
                (0..rows * cols)
                    .map(|t| {
                        let mut c = b.clone();
                        c.extend([t / cols, t % cols]);
                        r.at_broadcast(&c)
                    })
                    .collect()
            };
            let (a, bm) = (matrix(self, m, k), matrix(rhs, k, n));
            for i in 0..m {
                for j in 0..n {
                    let products = (0..k).map(|p| a[i * k + p] * bm[p * n + j]);
                    let (sum, mag) = products.fold((0.0, 0.0), |(s, g), x| (s + x, g + f64::abs(x)));
                    data.push(sum);
                    magnitude.push(mag);
                }
            }
        }
        (Ref { dims, data }, magnitude)
    }

    /// The broadcast shape of two arrays.
    pub fn binary_dims(&self, rhs: &Ref) -> Vec<usize> {
        let rank = self.dims.len().max(rhs.dims.len());
        let dim = |r: &Ref, i: usize| {
            if i + r.dims.len() >= rank { r.dims[i + r.dims.len() - rank] } else { 1 }
        };
        (0..rank).map(|i| if dim(self, i) == 1 { dim(rhs, i) } else { dim(self, i) }).collect()
    }

    /// PyTorch's gather.
    pub fn gather(&self, axis: usize, index: &Ref) -> Ref {
        Ref::from_fn(&index.dims, |c| {
            let mut src = c.to_vec();
            src[axis] = index.at(c) as usize;
            self.at(&src)
        })
    }

    /// PyTorch's scatter_add, out of place.
    pub fn scatter_add(&self, axis: usize, index: &Ref, src: &Ref) -> Ref {
        let mut out = self.clone();
        for c in coords(&index.dims) {
            let mut dst = c.clone();
            dst[axis] = index.at(&c) as usize;
            let k = out.index(&dst);
            out.data[k] += src.at(&c);
        }
        out
    }

    /// Entries `index` along `axis`.
    pub fn index_select(&self, axis: usize, index: &[usize]) -> Ref {
        let mut dims = self.dims.clone();
        dims[axis] = index.len();
        Ref::from_fn(&dims, |c| {
            let mut src = c.to_vec();
            src[axis] = index[c[axis]];
            self.at(&src)
        })
    }

    /// Adds `src` at entries `index` along `axis`.
    pub fn index_add(&self, axis: usize, index: &[usize], src: &Ref) -> Ref {
        let mut out = self.clone();
        for c in coords(&src.dims) {
            let mut dst = c.clone();
            dst[axis] = index[c[axis]];
            let k = out.index(&dst);
            out.data[k] += src.at(&c);
        }
        out
    }

    /// Joins along `axis`.
    pub fn concat(parts: &[Ref], axis: usize) -> Ref {
        let mut dims = parts[0].dims.clone();
        dims[axis] = parts.iter().map(|p| p.dims[axis]).sum();
        Ref::from_fn(&dims, |c| {
            let mut c = c.to_vec();
            for p in parts {
                if c[axis] < p.dims[axis] {
                    return p.at(&c);
                }
                c[axis] -= p.dims[axis];
            }
            unreachable!("coordinate inside the joined axis")
        })
    }

    /// The value read by tap (ky, kx) of output (oy, ox) in plane (n, c), or `None` in padding.
    fn tap(&self, w: &Window2d, n: usize, c: usize, o: [usize; 2], k: [usize; 2]) -> Option<f64> {
        let y = formulas::window_input_coord(w, 0, o[0], k[0]);
        let x = formulas::window_input_coord(w, 1, o[1], k[1]);
        let inside = y >= 0 && x >= 0 && (y as usize) < self.dims[2] && (x as usize) < self.dims[3];
        inside.then(|| self.at(&[n, c, y as usize, x as usize]))
    }

    /// im2col with padding value `pad`.
    pub fn unfold(&self, w: &Window2d, pad: f64) -> Ref {
        let [oh, ow] = formulas::window_output_size(w, [self.dims[2], self.dims[3]]);
        let (kh, kw) = (w.kernel[0], w.kernel[1]);
        Ref::from_fn(&[self.dims[0], self.dims[1] * kh * kw, oh * ow], |c| {
            let (ch, tap) = (c[1] / (kh * kw), c[1] % (kh * kw));
            self.tap(w, c[0], ch, [c[2] / ow, c[2] % ow], [tap / kw, tap % kw]).unwrap_or(pad)
        })
    }

    /// col2im into `[N, C, H, W]`.
    pub fn fold(&self, w: &Window2d, output: [usize; 2]) -> Ref {
        let [_, ow] = formulas::window_output_size(w, output);
        let (kh, kw) = (w.kernel[0], w.kernel[1]);
        let channels = self.dims[1] / (kh * kw);
        let mut out = Ref { dims: vec![self.dims[0], channels, output[0], output[1]], data: vec![] };
        out.data = vec![0.0; out.dims.iter().product()];
        for c in coords(&self.dims) {
            let (ch, tap) = (c[1] / (kh * kw), c[1] % (kh * kw));
            let y = formulas::window_input_coord(w, 0, c[2] / ow, tap / kw);
            let x = formulas::window_input_coord(w, 1, c[2] % ow, tap % kw);
            if y >= 0 && x >= 0 && (y as usize) < output[0] && (x as usize) < output[1] {
                let k = out.index(&[c[0], ch, y as usize, x as usize]);
                out.data[k] += self.at(&c);
            }
        }
        out
    }

    /// Max pooling (padding never wins) and the flat plane position of each maximum.
    pub fn max_pool2d(&self, w: &Window2d) -> (Ref, Ref) {
        self.pool(w, |taps| {
            let (values, positions): (Vec<f64>, Vec<usize>) = taps.iter().flatten().copied().unzip();
            if values.is_empty() {
                return (f64::NEG_INFINITY, -1.0);
            }
            let best = formulas::arg_extreme(ArgReduceOp::ArgMax, &values);
            (values[best], positions[best] as f64)
        })
    }

    /// Average pooling counting padding as zeros.
    pub fn avg_pool2d(&self, w: &Window2d) -> Ref {
        self.pool(w, |taps| (taps.iter().flatten().map(|(v, _)| v).sum::<f64>() / taps.len() as f64, 0.0)).0
    }

    fn pool(&self, w: &Window2d, combine: impl Fn(&[Option<(f64, usize)>]) -> (f64, f64)) -> (Ref, Ref) {
        let [oh, ow] = formulas::window_output_size(w, [self.dims[2], self.dims[3]]);
        let dims = [self.dims[0], self.dims[1], oh, ow];
        let mut positions = Vec::new();
        let values = Ref::from_fn(&dims, |c| {
            let mut taps = Vec::new();
            for ky in 0..w.kernel[0] {
                for kx in 0..w.kernel[1] {
                    let at = self.tap(w, c[0], c[1], [c[2], c[3]], [ky, kx]);
                    let y = formulas::window_input_coord(w, 0, c[2], ky);
                    let x = formulas::window_input_coord(w, 1, c[3], kx);
                    taps.push(at.map(|v| (v, y as usize * self.dims[3] + x as usize)));
                }
            }
            let (v, p) = combine(&taps);
            positions.push(p);
            v
        });
        (values, Ref { dims: dims.to_vec(), data: positions })
    }
}
