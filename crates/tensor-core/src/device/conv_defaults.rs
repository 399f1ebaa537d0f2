//! Default bodies of the convolution composites: im2col ([`Device::unfold`]), one batched
//! [`Device::matmul`] per sample and group, and col2im ([`Device::fold`]) for the input
//! gradient.

use super::Device;
use crate::{BinaryOp, ConvPlan, ConvSpec, Layout, ReduceOp, Result, Storage, View};

/// The weight `[O, C/g, kh, kw]` as a storage and its layout `[N, g, O/g, C/g·taps]`
/// (broadcast over the batch), made contiguous first when it is a view.
fn weight_per_sample<D: Device + ?Sized>(dev: &D, weight: View<'_>, plan: &ConvPlan) -> Result<(Storage, Layout)> {
    let layout = weight.layout();
    let w = if layout.is_contiguous() && layout.offset() == 0 { weight.storage().clone() } else { dev.copy(weight)? };
    let grouped = Layout::contiguous([plan.groups, plan.out_per_group, plan.group_rows()]);
    let broadcast =
        grouped.unsqueeze(0)?.broadcast_to(&[plan.batch, plan.groups, plan.out_per_group, plan.group_rows()].into())?;
    Ok((w, broadcast))
}

/// The output gradient `[N, O, OH, OW]` as a storage and its layout `[N, g, O/g, L]` (copied
/// when the view cannot be reshaped in place).
fn grouped_grad<D: Device + ?Sized>(dev: &D, grad: View<'_>, grouped: [usize; 4]) -> Result<(Storage, Layout)> {
    Ok(match grad.layout().reshape(&grouped.into()) {
        Some(l) => (grad.storage().clone(), l),
        None => (dev.copy(grad)?, Layout::contiguous(grouped)),
    })
}

/// The im2col columns of `x` and their layout `[N, g, C/g·taps, L]`.
fn columns<D: Device + ?Sized>(dev: &D, x: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<(Storage, Layout)> {
    let cols = dev.unfold(x, &spec.window, 0.0)?;
    Ok((cols, Layout::contiguous([plan.batch, plan.groups, plan.group_rows(), plan.positions()])))
}

/// Default [`Device::conv2d`].
pub fn conv2d<D: Device + ?Sized>(
    dev: &D,
    x: View<'_>,
    weight: View<'_>,
    bias: Option<View<'_>>,
    spec: &ConvSpec,
) -> Result<Storage> {
    let plan = spec.plan("conv2d", x.shape(), weight.shape())?;
    let (cols, cols_layout) = columns(dev, x, spec, &plan)?;
    let (w, w_layout) = weight_per_sample(dev, weight, &plan)?;
    let y = dev.matmul(w.view(&w_layout)?, cols.view(&cols_layout)?)?;
    let Some(b) = bias else { return Ok(y) };
    let out = plan.output_shape();
    let per_channel_shape = [plan.out_channels(), 1, 1];
    let (b, b_layout) = match b.layout().reshape(&per_channel_shape.into()) {
        Some(l) => (b.storage().clone(), l),
        None => (dev.copy(b)?, Layout::contiguous(per_channel_shape)),
    };
    dev.binary(BinaryOp::Add, y.view(&Layout::contiguous(out.clone()))?, b.view(&b_layout.broadcast_to(&out)?)?)
}

/// Default [`Device::conv2d_input_grad`].
pub fn conv2d_input_grad<D: Device + ?Sized>(
    dev: &D,
    grad: View<'_>,
    weight: View<'_>,
    spec: &ConvSpec,
    plan: &ConvPlan,
) -> Result<Storage> {
    let (w, w_layout) = weight_per_sample(dev, weight, plan)?;
    let grouped = [plan.batch, plan.groups, plan.out_per_group, plan.positions()];
    let (g, g_layout) = grouped_grad(dev, grad, grouped)?;
    let dcols = dev.matmul(w.view(&w_layout.transpose(2, 3)?)?, g.view(&g_layout)?)?;
    let dcols_layout = Layout::contiguous([plan.batch, plan.groups * plan.group_rows(), plan.positions()]);
    dev.fold(dcols.view(&dcols_layout)?, &spec.window, plan.input)
}

/// Default [`Device::conv2d_weight_grad`].
pub fn conv2d_weight_grad<D: Device + ?Sized>(
    dev: &D,
    x: View<'_>,
    grad: View<'_>,
    spec: &ConvSpec,
    plan: &ConvPlan,
) -> Result<Storage> {
    let (cols, cols_layout) = columns(dev, x, spec, plan)?;
    let grouped = [plan.batch, plan.groups, plan.out_per_group, plan.positions()];
    let (g, g_layout) = grouped_grad(dev, grad, grouped)?;
    let per_sample = dev.matmul(g.view(&g_layout)?, cols.view(&cols_layout.transpose(2, 3)?)?)?;
    let per_sample_layout = Layout::contiguous([plan.batch, plan.groups, plan.out_per_group, plan.group_rows()]);
    dev.reduce(ReduceOp::Sum, per_sample.view(&per_sample_layout)?, &[0])
}
