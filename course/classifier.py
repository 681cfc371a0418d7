"""The lessons' classifier: a BERT encoder whose sentence vector is the mean of its token vectors.

Why not transformers' ``BertForSequenceClassification``: it reads the ``[CLS]`` token through the
encoder's pooler. all-MiniLM-L6-v2 was trained as a sentence encoder with *mean* pooling, so its
mean token vector is a meaningful sentence representation from the first step, while its ``[CLS]``
vector and pooler were never trained for anything a head could read. With the ``[CLS]`` head every
run of the course first sat on a loss plateau at chance (``docs/course.md``, "Why mean pooling").
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

__all__ = ["BertMeanPoolingClassifier"]


class BertMeanPoolingClassifier(BertPreTrainedModel):
    """A BERT encoder, the mean of its token vectors (padding left out), dropout and a linear head.

    It behaves like ``BertForSequenceClassification`` — same ``bert`` and ``classifier`` names, same
    outputs, 4- and 8-bit loading, ``save_pretrained``, gradient checkpointing, ``Trainer`` — except
    for the pooling. It has no pooler, so loading a checkpoint reports the pooler's weights as
    unexpected and skips them.
    """

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @staticmethod
    def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The average of each sequence's token vectors, padding positions excluded."""
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, **_ignored) -> SequenceClassifierOutput:
        """``**_ignored`` takes the flags peft and ``Trainer`` pass (``return_dict``,
        ``output_attentions``, ``num_items_in_batch``…): the output is always a
        ``SequenceClassifierOutput`` with the loss when ``labels`` are given."""
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           position_ids=position_ids, inputs_embeds=inputs_embeds).last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
        logits = self.classifier(self.dropout(self.mean_pool(hidden, attention_mask)))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float().view(-1, self.num_labels), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits)
