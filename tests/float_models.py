"""Float PyTorch models (no library layer) trained briefly on generated data, for
``quantize``: an MLP, a CNN with batch norms, a residual block, an LSTM.

``trained(name)`` trains one (seeded, about a second) and caches it for the process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from elasticai.creator.examples.timeseries import make_signals

CLASSES = 4


class MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(10, 32)
        self.relu = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(32, 16)
        self.fc3 = torch.nn.Linear(16, CLASSES)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(self.relu(self.fc1(x)))))


class CNN(torch.nn.Module):
    """Conv1d-BN-ReLU-MaxPool, Conv1d-BN-ReLU-global average, Flatten-Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv1d(1, 8, 5, padding=2),
            torch.nn.BatchNorm1d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(2),
            torch.nn.Conv1d(8, 8, 3, padding=1),
            torch.nn.BatchNorm1d(8),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool1d(1),
        )
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, CLASSES))

    def forward(self, x):
        return self.head(self.features(x))


class Residual(torch.nn.Module):
    """A stem convolution, then ``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv1d(1, 8, 5, padding=2)
        self.conv1 = torch.nn.Conv1d(8, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm1d(8)
        self.conv2 = torch.nn.Conv1d(8, 8, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm1d(8)
        self.pool = torch.nn.MaxPool1d(4)
        self.fc = torch.nn.Linear(8 * 8, CLASSES)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)) + x)
        return self.fc(torch.flatten(self.pool(y), 1))


class LSTMNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(1, 12, batch_first=True)
        self.fc = torch.nn.Linear(12, CLASSES)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points of 10 features around four centres (the same for every seed), features
    of different scales."""
    centres = torch.randn(CLASSES, 10, generator=torch.Generator().manual_seed(99)) * 0.6
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, CLASSES, (n,), generator=g)
    scale = torch.linspace(0.5, 3.0, 10)
    return (centres[y] + torch.randn(n, 10, generator=g)) * scale, y


@dataclass(frozen=True)
class Trained:
    model: torch.nn.Module  # float, in eval()
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    input_shape: tuple[int, ...]  # without batch


def signals(n: int, seed: int, length: int, sequence: bool = False):
    x, y = make_signals(n, seed=seed, length=length, noise=0.15)
    return (x.transpose(1, 2) if sequence else x), y


#: name: (model, data(n, seed), training steps)
MODELS = {
    "mlp": (MLP, blobs, 150),
    "cnn": (CNN, lambda n, seed: signals(n, seed, 32), 400),
    "residual": (Residual, lambda n, seed: signals(n, seed, 32), 200),
    "lstm": (LSTMNet, lambda n, seed: signals(n, seed, 16, sequence=True), 400),
}


def fit(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float, seed: int = 0
) -> list[float]:
    """An ordinary training loop (Adam, cross entropy, batches of 64); the losses; the model
    is left in ``eval()``."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        batch = torch.randint(0, len(x), (64,), generator=g)
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


@functools.cache
def trained(name: str) -> Trained:
    cls, data, steps = MODELS[name]
    x_train, y_train = data(800, 0)
    x_test, y_test = data(1000, 1)
    torch.manual_seed(1)
    model = cls()
    fit(model, x_train, y_train, steps, lr=0.02)
    return Trained(model, x_train, y_train, x_test, y_test, tuple(x_train.shape[1:]))
