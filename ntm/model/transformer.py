"""A causal, decoder-only, pre-LayerNorm Transformer behind the suite's
interface: inputs [B, T, in] -> logits [B, T, out], one output per input step.

The baseline the recent literature holds memory models against on these
tasks (Delétang et al. 2023; Ruoss et al. 2023; Jelassi et al. 2024; Arora et
al. 2024). Attention runs through `torch.nn.functional.scaled_dot_product_attention`.
How it knows where a step is, `positional`:

- "sinusoidal": Vaswani et al.'s fixed sines and cosines, added to the input;
- "learned": one learned vector per position, added; it cannot be evaluated
  past the positions it was trained on, and says so;
- "rope": rotary embeddings, the queries and keys rotated by position (Su et al.);
- "alibi": no embedding; each head's attention score falls linearly with the
  distance to the key (Press et al.);
- "none": the causal mask alone tells positions apart (NoPE);
- "randomised": sinusoidal, but during training the positions are an ordered
  random subset of 0..max_positions, much longer than the sequences
  (Ruoss et al. 2023), so every position up to that range is seen.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F

from ntm.model.padding import run_by_length, saves_steps

POSITIONALS = ("sinusoidal", "learned", "rope", "alibi", "none", "randomised")


@dataclasses.dataclass
class TransformerOptions:
    width: int = 128  # d_model
    layers: int = 2
    heads: int = 4
    positional: str = "sinusoidal"  # one of POSITIONALS
    max_positions: int = 2048  # learned: the table's length; randomised: the range positions are drawn from
    dropout: float = 0.0  # the tasks are noiseless and the data endless: no need to regularise

    def check(self) -> "TransformerOptions":
        if self.positional not in POSITIONALS:
            raise ValueError(f"model.positional must be one of {', '.join(POSITIONALS)}, got {self.positional!r}")
        if min(self.width, self.layers, self.heads, self.max_positions) < 1:
            raise ValueError("the Transformer's width, layers, heads and max_positions must all be at least 1")
        if self.width % self.heads or (self.positional == "rope" and (self.width // self.heads) % 2):
            raise ValueError(f"model.width {self.width} must split into {self.heads} heads"
                             + (" of an even size (rope rotates pairs)" if self.positional == "rope" else ""))
        return self


def sinusoids(positions: torch.Tensor, width: int) -> torch.Tensor:
    """[..., T] positions -> [..., T, width]: sin and cos at geometric frequencies."""
    frequencies = torch.exp(torch.arange(0, width, 2, device=positions.device) * (-math.log(10000.0) / width))
    angles = positions.unsqueeze(-1).float() * frequencies  # [..., T, width/2]
    table = torch.zeros(*positions.shape, width, device=positions.device)
    table[..., 0::2], table[..., 1::2] = angles.sin(), angles.cos()[..., : width // 2]
    return table


def rotate(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotary embedding: x [B, H, T, D] with each pair of features turned by an angle growing with the position."""
    half = x.shape[-1] // 2
    frequencies = torch.exp(torch.arange(half, device=x.device) * (-math.log(10000.0) / half))
    angles = positions.float().unsqueeze(-1) * frequencies  # [B or 1, T, D/2]
    cos, sin = angles.cos().unsqueeze(1), angles.sin().unsqueeze(1)  # [B or 1, 1, T, D/2]
    first, second = x[..., :half], x[..., half:]
    return torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)


def alibi_bias(heads: int, positions: torch.Tensor) -> torch.Tensor:
    """[B or 1, H, T, T] additive scores: -slope_h * (query position - key position), future masked."""
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)], device=positions.device)
    distance = (positions.unsqueeze(-1) - positions.unsqueeze(-2)).float()  # [B or 1, T, T]
    bias = -slopes.view(1, heads, 1, 1) * distance.unsqueeze(1)
    return bias.masked_fill(distance.unsqueeze(1) < 0, float("-inf"))


class Block(nn.Module):
    """Pre-LayerNorm: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, options: TransformerOptions):
        super().__init__()
        width, self.heads, self.positional = options.width, options.heads, options.positional
        self.attention_norm, self.mlp_norm = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.projection = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.dropout = options.dropout

    def forward(self, x: torch.Tensor, positions: torch.Tensor, trace: bool):
        B, T, width = x.shape
        q, k, v = self.qkv(self.attention_norm(x)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # [B, H, T, D]
        if self.positional == "rope":
            q, k = rotate(q, positions), rotate(k, positions)
        if self.positional == "alibi":
            mask, causal = alibi_bias(self.heads, positions).to(q.dtype), False
        else:
            mask, causal = None, True
        drop = self.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=drop)
        weights = _attention_weights(q, k, mask) if trace else None
        x = x + self.projection(attended.transpose(1, 2).reshape(B, T, width))
        return x + self.mlp(self.mlp_norm(x)), weights


def _attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """[B, H, T, T] the weights scaled_dot_product_attention used, for pictures."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is None:
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=q.device).triu(1)
        mask = torch.zeros(scores.shape[-2:], device=q.device).masked_fill(future, float("-inf"))
    return (scores + mask).softmax(dim=-1)


class Transformer(nn.Module):
    """A causal decoder-only Transformer; see the module docstring."""

    Options = TransformerOptions

    def __init__(self, input_width: int, output_width: int, options: TransformerOptions):
        super().__init__()
        self.options = options.check()
        self.embed = nn.Linear(input_width, options.width)
        if options.positional == "learned":
            self.position_table = nn.Parameter(torch.randn(options.max_positions, options.width) * 0.02)
        # The most steps a training sequence had: a learned table knows nothing past it.
        self.register_buffer("trained_steps", torch.zeros((), dtype=torch.long))
        self.blocks = nn.ModuleList(Block(options) for _ in range(options.layers))
        self.final_norm = nn.LayerNorm(options.width)
        self.output = nn.Linear(options.width, output_width)

    @staticmethod
    def parameter_count(input_width: int, output_width: int, options: TransformerOptions) -> int:
        """What `sum(p.numel() for p in model.parameters())` gives, without building it."""
        w = options.width
        block = 4 * w + (3 * w * w + 3 * w) + (w * w + w) + (8 * w * w + 5 * w)  # norms, qkv, projection, MLP
        table = options.max_positions * w if options.positional == "learned" else 0
        return (input_width + 1) * w + table + options.layers * block + 2 * w + (w + 1) * output_width

    def positions(self, batch: int, steps: int, device) -> torch.Tensor:
        """[B or 1, T] each step's position: 0..T-1, or while training with
        "randomised", an ordered random subset of 0..max_positions-1 per sequence."""
        o = self.options
        if self.training:
            self.trained_steps.fill_(max(int(self.trained_steps), steps))
        known = int(self.trained_steps) if not self.training and int(self.trained_steps) else o.max_positions
        if o.positional == "learned" and steps > known:
            raise ValueError(f"a Transformer with learned positions was trained on {known} of them and cannot be "
                             f"evaluated at {steps} steps: its vectors past those never learnt anything. "
                             "Evaluate within them, or train with another model.positional (sinusoidal, rope, "
                             "alibi, none, randomised)")
        if o.positional == "randomised" and self.training and steps <= o.max_positions:
            drawn = torch.rand(batch, o.max_positions, device=device).argsort(dim=1)[:, :steps]
            return drawn.sort(dim=1).values
        return torch.arange(steps, device=device).unsqueeze(0)

    def forward(self, inputs: torch.Tensor, trace: bool = False, lengths: torch.Tensor | None = None):
        """inputs [B, T, in] -> logits [B, T, out]; with trace=True also
        {"layer L": [B, T, H, T]}: each head's weights over the key steps.
        lengths, where given, let it skip most of a mixed-length batch's
        padding: no step attends to a later one (ntm.model.padding)."""
        if not trace and saves_steps(inputs, lengths):
            return run_by_length(self._run, inputs, lengths)
        return self._run(inputs, trace)

    def _run(self, inputs: torch.Tensor, trace: bool = False):
        B, T, _ = inputs.shape
        positions = self.positions(B, T, inputs.device)
        x = self.embed(inputs)
        kind = self.options.positional
        if kind in ("sinusoidal", "randomised"):
            x = x + sinusoids(positions, self.options.width).to(x.dtype)
        elif kind == "learned":
            x = x + self.position_table[positions]
        traces = {}
        for i, block in enumerate(self.blocks):
            x, weights = block(x, positions, trace)
            if trace:
                traces[f"layer {i + 1}"] = weights.transpose(1, 2)  # [B, T (query), H, T (key)]
        logits = self.output(self.final_norm(x))
        return (logits, traces) if trace else logits
