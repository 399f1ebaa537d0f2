"""Training-step peer for the neural-LM issue: Zaremba et al.'s "small" PTB language model in
JAX (XLA on the CPU, jit-compiled), the same model Tessera's `lm_step` bench trains.

Model: embedding 10,000 x 200, two LSTM layers of 200 (PyTorch gate order i, f, g, o, separate
input and recurrent biases), linear head 200 -> 10,000, no dropout, untied. One step: forward
over a window of 20 steps x 20 streams from a carried state, cross-entropy averaged over streams
and summed over time, backward, global gradient-norm clipping at 5, SGD at lr 1.0, the new state
returned (detached by construction). Timing includes block_until_ready.

Usage: python lm_jax.py <threads-label> [steps] [warmup]  (restrict threads with taskset)
Output: CSV rows section,impl,variant,threads,case,unit,median,p25,p75,min,max,n
"""
import sys
import time

import jax
import jax.numpy as jnp
from jax import lax

VOCAB, HIDDEN, LAYERS, STEPS, STREAMS = 10_000, 200, 2, 20, 20
CASE = "lm_ptb_small_b20_t20_step"


def q(v, p):
    return v[round((len(v) - 1) * p)]


def init(key):
    keys = jax.random.split(key, 3 + 4 * LAYERS)
    u = lambda k, shape: jax.random.uniform(k, shape, jnp.float32, -0.1, 0.1)
    p = {"emb": u(keys[0], (VOCAB, HIDDEN)), "dec_w": u(keys[1], (HIDDEN, VOCAB)), "dec_b": u(keys[2], (VOCAB,))}
    for l in range(LAYERS):
        k = keys[3 + 4 * l: 7 + 4 * l]
        p[f"wih{l}"] = u(k[0], (HIDDEN, 4 * HIDDEN))
        p[f"whh{l}"] = u(k[1], (HIDDEN, 4 * HIDDEN))
        p[f"bih{l}"] = u(k[2], (4 * HIDDEN,))
        p[f"bhh{l}"] = u(k[3], (4 * HIDDEN,))
    return p


def loss_fn(p, state, ids, targets):
    x = p["emb"][ids]  # [T, N, H]
    new_state = []
    for l in range(LAYERS):
        proj = x @ p[f"wih{l}"] + p[f"bih{l}"]

        def cell(carry, xt, l=l):
            h, c = carry
            z = xt + h @ p[f"whh{l}"] + p[f"bhh{l}"]
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        (h, c), x = lax.scan(cell, (state[0][l], state[1][l]), proj)
        new_state.append((h, c))
    logits = x.reshape(-1, HIDDEN) @ p["dec_w"] + p["dec_b"]
    lp = jax.nn.log_softmax(logits)
    nll = -jnp.mean(jnp.take_along_axis(lp, targets.reshape(-1, 1), axis=1))
    hs = jnp.stack([s[0] for s in new_state])
    cs = jnp.stack([s[1] for s in new_state])
    return nll * STEPS, (hs, cs)


@jax.jit
def step(p, state, ids, targets):
    (loss, new_state), g = jax.value_and_grad(loss_fn, has_aux=True)(p, state, ids, targets)
    norm = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
    scale = jnp.minimum(1.0, 5.0 / (norm + 1e-6))
    p = jax.tree_util.tree_map(lambda w, gw: w - 1.0 * scale * gw, p, g)
    return p, new_state, loss


def main():
    threads = sys.argv[1] if len(sys.argv) > 1 else "1"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    key = jax.random.PRNGKey(0)
    p = init(key)
    zeros = jnp.zeros((LAYERS, STREAMS, HIDDEN), jnp.float32)
    state = (zeros, zeros)
    ids = jax.random.randint(jax.random.PRNGKey(1), (STEPS, STREAMS), 0, VOCAB)
    targets = jax.random.randint(jax.random.PRNGKey(2), (STEPS, STREAMS), 0, VOCAB)
    for _ in range(warmup):
        p, state, loss = step(p, state, ids, targets)
        jax.block_until_ready(loss)
    ts, cs = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        p, state, loss = step(p, state, ids, targets)
        jax.block_until_ready((p, state, loss))
        ts.append((time.perf_counter() - t0) * 1e3)
        cs.append((time.process_time() - c0) * 1e3)
    ts.sort()
    cs.sort()
    rows = [("ms/step", ts)] + ([("cpu-ms/step", cs)] if threads == "1" else [])
    for unit, v in rows:
        print(f"train,jax-{jax.__version__}-xla-cpu,jit,{threads},{CASE},{unit},{q(v, .5):.3f},{q(v, .25):.3f},"
              f"{q(v, .75):.3f},{v[0]:.3f},{v[-1]:.3f},{len(v)}", flush=True)


if __name__ == "__main__":
    main()
