//! Default bodies of the convolution composites: im2col ([`Device::unfold`]), one batched
//! [`Device::matmul`] per sample and group, and col2im ([`Device::fold`]) for the input
//! gradient.

use super::Device;
use crate::{BinaryOp, ConvPlan, ConvSpec, Layout, ReduceOp, Result, Storage};

/// The weight `[O, C/g, kh, kw]` as `[N, g, O/g, C/g·taps]` (broadcast over the batch), made
/// contiguous first when it is a view.
fn weight_per_sample<D: Device + ?Sized>(
    dev: &D,
    weight: &Storage,
    layout: &Layout,
    plan: &ConvPlan,
) -> Result<(Storage, Layout)> {
    let w = if layout.is_contiguous() && layout.offset() == 0 { weight.clone() } else { dev.copy(weight, layout)? };
    let grouped = Layout::contiguous([plan.groups, plan.out_per_group, plan.group_rows()]);
    let broadcast =
        grouped.unsqueeze(0)?.broadcast_to(&[plan.batch, plan.groups, plan.out_per_group, plan.group_rows()].into())?;
    Ok((w, broadcast))
}

/// The output gradient `[N, O, OH, OW]` viewed as `[N, g, O/g, L]` (copied when the view
/// cannot be reshaped in place).
fn grouped_grad<D: Device + ?Sized>(
    dev: &D,
    grad: &Storage,
    layout: &Layout,
    grouped: [usize; 4],
) -> Result<(Storage, Layout)> {
    Ok(match layout.reshape(&grouped.into()) {
        Some(l) => (grad.clone(), l),
        None => (dev.copy(grad, layout)?, Layout::contiguous(grouped)),
    })
}

/// The im2col columns of `x` as `[N, g, C/g·taps, L]`.
fn columns<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    layout: &Layout,
    spec: &ConvSpec,
    plan: &ConvPlan,
) -> Result<(Storage, Layout)> {
    let cols = dev.unfold(x, layout, &spec.window, 0.0)?;
    Ok((cols, Layout::contiguous([plan.batch, plan.groups, plan.group_rows(), plan.positions()])))
}

/// Default [`Device::conv2d`].
pub fn conv2d<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    x_layout: &Layout,
    weight: &Storage,
    w_layout: &Layout,
    bias: Option<(&Storage, &Layout)>,
    spec: &ConvSpec,
) -> Result<Storage> {
    let plan = spec.plan("conv2d", x_layout.shape(), w_layout.shape())?;
    let (cols, cols_layout) = columns(dev, x, x_layout, spec, &plan)?;
    let (w, w_view) = weight_per_sample(dev, weight, w_layout, &plan)?;
    let y = dev.matmul(&w, &w_view, &cols, &cols_layout)?;
    let Some((b, b_layout)) = bias else { return Ok(y) };
    let out = plan.output_shape();
    let per_channel = b_layout.reshape(&[plan.out_channels(), 1, 1].into()).map_or_else(
        || dev.copy(b, b_layout).map(|c| (c, Layout::contiguous([plan.out_channels(), 1, 1]))),
        |l| Ok((b.clone(), l)),
    )?;
    dev.binary(BinaryOp::Add, &y, &Layout::contiguous(out.clone()), &per_channel.0, &per_channel.1.broadcast_to(&out)?)
}

/// Default [`Device::conv2d_input_grad`].
pub fn conv2d_input_grad<D: Device + ?Sized>(
    dev: &D,
    grad: &Storage,
    grad_layout: &Layout,
    weight: &Storage,
    w_layout: &Layout,
    spec: &ConvSpec,
    plan: &ConvPlan,
) -> Result<Storage> {
    let (w, w_view) = weight_per_sample(dev, weight, w_layout, plan)?;
    let grouped = [plan.batch, plan.groups, plan.out_per_group, plan.positions()];
    let (g, g_layout) = grouped_grad(dev, grad, grad_layout, grouped)?;
    let dcols = dev.matmul(&w, &w_view.transpose(2, 3)?, &g, &g_layout)?;
    let dcols_layout = Layout::contiguous([plan.batch, plan.groups * plan.group_rows(), plan.positions()]);
    dev.fold(&dcols, &dcols_layout, &spec.window, plan.input)
}

/// Default [`Device::conv2d_weight_grad`].
pub fn conv2d_weight_grad<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    x_layout: &Layout,
    grad: &Storage,
    grad_layout: &Layout,
    spec: &ConvSpec,
    plan: &ConvPlan,
) -> Result<Storage> {
    let (cols, cols_layout) = columns(dev, x, x_layout, spec, plan)?;
    let grouped = [plan.batch, plan.groups, plan.out_per_group, plan.positions()];
    let (g, g_layout) = grouped_grad(dev, grad, grad_layout, grouped)?;
    let per_sample = dev.matmul(&g, &g_layout, &cols, &cols_layout.transpose(2, 3)?)?;
    let per_sample_layout = Layout::contiguous([plan.batch, plan.groups, plan.out_per_group, plan.group_rows()]);
    dev.reduce(ReduceOp::Sum, &per_sample, &per_sample_layout, &[0])
}
