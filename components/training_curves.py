"""Training curves: the loss at every step (and each epoch's mean), the dev accuracy after each epoch."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st


def training_curves(*, steps: list[dict], history: list[dict], total_steps: int | None = None, key: str) -> None:
    """steps: [{step, epoch, loss}]; history: [{epoch, train_loss, dev_accuracy}]; total_steps fixes the x axis
    while training runs."""
    left, right = st.columns(2)
    loss = go.Figure(go.Scatter(x=[s["step"] for s in steps], y=[s["loss"] for s in steps], mode="lines",
                                name="batch loss", line=dict(color="#0072B2", width=1)))
    if history and steps:
        last_step = {}
        for s in steps:
            last_step[s["epoch"]] = s["step"]
        loss.add_trace(go.Scatter(x=[last_step[h["epoch"]] for h in history if h["epoch"] in last_step],
                                  y=[h["train_loss"] for h in history if h["epoch"] in last_step],
                                  mode="markers+lines", name="epoch mean", marker=dict(color="#D55E00", size=9)))
    loss.update_layout(title="Training loss (cross-entropy)", xaxis_title="step", yaxis_title="loss", height=300,
                       margin=dict(t=40, l=10, r=10, b=10), legend=dict(orientation="h", y=-0.3),
                       xaxis=dict(range=[0, total_steps]) if total_steps else {})
    left.plotly_chart(loss, key=f"{key}_loss")
    accuracy = go.Figure(go.Scatter(x=[h["epoch"] for h in history], y=[h["dev_accuracy"] for h in history],
                                    mode="markers+lines", marker=dict(color="#009E73", size=9), name="dev"))
    accuracy.update_layout(title="Dev accuracy after each epoch", xaxis_title="epoch", yaxis_title="accuracy",
                           yaxis=dict(range=[0, 1.02]), xaxis=dict(dtick=1), height=300,
                           margin=dict(t=40, l=10, r=10, b=10))
    right.plotly_chart(accuracy, key=f"{key}_accuracy")
