"""One recurrent model covering Elman SRN, tanh RNN, GRU and LSTM, any depth: a language model,
or (``classes`` > 0) a sequence classifier reading the last state (the Yelp sentiment GRU); and
loading it back from a checkpoint (rnnscope.train writes them) onto the device a config asks for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from rnnscope.schema import check_settings

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a model. ``embedding`` 0 feeds one-hot inputs (Elman's SRN has no embedding).

    ``tie_weights`` shares the embedding matrix with the decoder (Press & Wolf 2017, Inan et al.
    2017), which needs embedding == hidden. ``classes`` > 0 makes a sequence classifier: the
    decoder maps the top layer's state after a sequence's last token to ``classes`` logits
    (``RNNModel.classify``); 0 is a language model whose decoder predicts the next token.
    """

    cell: str
    vocab_size: int
    hidden: int
    layers: int = 1
    embedding: int = 0
    dropout: float = 0.0
    init_range: float | None = None
    tie_weights: bool = False
    classes: int = 0

    def __post_init__(self) -> None:
        # A sentiment classifier's section (sentiment.models.<name>.model) allows a subset of these
        # ranges. vocab_size and classes come from the data, not the config: checked here.
        check_settings("models.<name>.model", self, derived=("vocab_size", "classes"))
        if self.cell == "srn" and (self.embedding or self.layers != 1):
            raise ValueError(
                "an Elman SRN has one layer and one-hot inputs: set layers: 1 and embedding: 0, or use cell rnn_tanh"
            )
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {self.vocab_size}")
        if self.classes < 0 or (self.classes and self.tie_weights):
            raise ValueError(
                f"classes must be >= 0 and a classifier (classes > 0) cannot tie weights, got classes {self.classes}"
            )
        if self.tie_weights and self.embedding != self.hidden:
            raise ValueError(
                f"tie_weights shares the embedding with the decoder, so embedding must equal hidden "
                f"(got embedding {self.embedding}, hidden {self.hidden}); set embedding: {self.hidden} or tie_weights: false"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class RNNModel(nn.Module):
    """Encoder (embedding or one-hot) → fused recurrent stack → linear decoder to next-token logits
    (or, for a classifier, to class logits)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        input_size = config.embedding or config.vocab_size
        self.encoder = nn.Embedding(config.vocab_size, config.embedding) if config.embedding else None
        rnn_class = {"srn": nn.RNN, "rnn_tanh": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.cell]
        self.rnn = rnn_class(
            input_size,
            config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.drop = nn.Dropout(config.dropout)
        self.decoder = nn.Linear(config.hidden, config.classes or config.vocab_size)
        if config.tie_weights:
            self.decoder.weight = self.encoder.weight  # type: ignore[union-attr]
        if config.init_range is not None:
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -config.init_range, config.init_range)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.encoder is None:
            return nn.functional.one_hot(tokens, self.config.vocab_size).float()
        return self.encoder(tokens)

    def forward(self, tokens: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """tokens (batch, time) → logits (batch, time, vocab) and the final hidden state."""
        inputs = self.embed(tokens)
        # Dropout on a one-hot input would erase whole characters (seed 003 and char-rnn drop none);
        # an embedding keeps Zaremba et al.'s dropout on its output.
        if self.encoder is not None:
            inputs = self.drop(inputs)
        outputs, hidden = self.rnn(inputs, hidden)
        return self.decoder(self.drop(outputs)), hidden

    def classify(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Padded tokens (batch, time) and true lengths (batch,) → class logits (batch, classes) from
        the top layer's state after each sequence's last real token, every sequence from the zero state."""
        if not self.config.classes:
            raise ValueError("classify needs a classifier (ModelConfig.classes > 0); this is a language model")
        inputs = self.embed(tokens)
        if self.encoder is not None:
            inputs = self.drop(inputs)
        # Packed, so the padding after a sequence's end is never read.
        packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, hidden = self.rnn(packed)
        last = hidden[0] if isinstance(hidden, tuple) else hidden
        return self.decoder(self.drop(last[-1]))

    def init_hidden(self, batch: int) -> Hidden:
        weight = next(self.parameters())
        zeros = weight.new_zeros(self.config.layers, batch, self.config.hidden)
        return (zeros, zeros.clone()) if self.config.cell == "lstm" else zeros


def detach(hidden: Hidden) -> Hidden:
    """Cut the graph at a truncated-BPTT boundary."""
    return tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()  # type: ignore[return-value]


def resolve_device(requested: str, config_key: str = "train.device") -> torch.device:
    """``auto`` takes CUDA when present; asking for CUDA without it is an error naming ``config_key``."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device cuda was requested but torch sees no CUDA device; set {config_key} to auto or cpu")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def load_checkpoint(path: str | Path, weights_only: bool = True) -> dict:
    """torch.load with a clear error for a truncated or corrupt file (zip CRCs catch most damage)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors...
        raise CorruptCheckpoint(
            f"checkpoint {path} is corrupt or truncated ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(payload, dict) or not {"model_config", "state_dict"} <= set(payload):
        raise CorruptCheckpoint(f"checkpoint {path} is not an rnnscope checkpoint (no model_config/state_dict)")
    return payload


class CorruptCheckpoint(ValueError):
    """A checkpoint file cannot be read back."""


def load_model(checkpoint_path: str | Path) -> tuple[RNNModel, dict]:
    try:
        payload = load_checkpoint(checkpoint_path)
    except CorruptCheckpoint as error:
        raise CorruptCheckpoint(f"{error}. Delete it and rerun its train job.") from error
    model = RNNModel(ModelConfig(**payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, payload
