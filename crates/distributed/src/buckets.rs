//! The order in which gradients are averaged: parameters grouped into size-bounded buckets,
//! last layer first (the order backward finishes them), the same plan on every rank.

/// Where one parameter's gradient sits in its bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The parameter's position in the model's parameter list.
    pub param: usize,
    /// The bucket it travels in.
    pub bucket: usize,
    /// Its first element within the bucket.
    pub offset: usize,
    /// Its element count.
    pub len: usize,
}

/// Parameters in buckets of at most `bucket_elements` (a larger parameter gets a bucket of its
/// own), filled from the last parameter to the first, as PyTorch's DDP does: backward produces
/// the last layers' gradients first, so the first bucket is ready earliest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketPlan {
    /// One slot per parameter, indexed by parameter.
    pub slots: Vec<Slot>,
    /// Element count of each bucket.
    pub sizes: Vec<usize>,
}

impl BucketPlan {
    /// A plan for parameters of `lens` elements (in model order).
    pub fn new(lens: &[usize], bucket_elements: usize) -> BucketPlan {
        let mut slots = vec![Slot { param: 0, bucket: 0, offset: 0, len: 0 }; lens.len()];
        let mut sizes: Vec<usize> = Vec::new();
        for param in (0..lens.len()).rev() {
            let len = lens[param];
            let open = sizes.len().checked_sub(1);
            match open {
                Some(bucket) if sizes[bucket] > 0 && sizes[bucket] + len <= bucket_elements.max(1) => {
                    slots[param] = Slot { param, bucket, offset: sizes[bucket], len };
                    sizes[bucket] += len;
                }
                _ => {
                    slots[param] = Slot { param, bucket: sizes.len(), offset: 0, len };
                    sizes.push(len);
                }
            }
        }
        BucketPlan { slots, sizes }
    }

    /// The parameters of bucket `bucket`, in the order they sit in it.
    pub fn members(&self, bucket: usize) -> impl Iterator<Item = &Slot> {
        self.slots.iter().rev().filter(move |s| s.bucket == bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::BucketPlan;

    #[test]
    fn buckets_are_bounded_and_filled_from_the_last_parameter() {
        let plan = BucketPlan::new(&[100, 10, 30, 5, 2], 40);
        // 2 + 5 + 30 fit in 40; 10 opens the next; 100 is alone (too large for any bucket).
        assert_eq!(plan.sizes, [37, 10, 100]);
        assert_eq!(plan.slots[4].bucket, 0);
        assert_eq!((plan.slots[2].bucket, plan.slots[2].offset), (0, 7));
        assert_eq!(plan.slots[0].bucket, 2);
        let members: Vec<usize> = plan.members(0).map(|s| s.param).collect();
        assert_eq!(members, [4, 3, 2]);
        let total: usize = plan.sizes.iter().sum();
        assert_eq!(total, 147);
    }
}
