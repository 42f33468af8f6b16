"""Prompts as AUTOMATIC1111 reads them, turned into the embeddings a diffusers pipeline takes.

A1111's grammar (`modules/prompt_parser.py`): `(text)` weighs ×1.1, `[text]` ÷1.1,
`(text:1.3)` sets the factor, brackets nest and multiply, `\\(` `\\)` `\\[` `\\]` `\\\\` are
literal, an unclosed bracket applies to the end, and `BREAK` (uppercase, a word of its own)
starts a new chunk. Anything else, `<lora:name:0.8>` tags included, is plain text.

Its encoding (`modules/sd_hijack_clip.py`): the tokens go into chunks of 75, each wrapped in
begin/end tokens and padded to CLIP's 77, encoded one by one and concatenated along the
sequence; text after a comma near a chunk's end moves whole into the next chunk; positive
and negative are padded to the same number of chunks; each token's embedding is multiplied
by its weight and the chunk rescaled to its former mean ("emphasis: Original"). SDXL
concatenates its two encoders' hidden states per chunk and takes the pooled embedding from
the second encoder's first chunk. Two deviations: A1111 treats a `BREAK` inside brackets as
the word "BREAK", here it always breaks; and where a chunk's mean is rounding noise (an
encoder whose embeddings average to zero) the weights apply without the rescale.

The rest follows diffusers' `encode_prompt`, so a plain prompt of at most 75 tokens gives the
embeddings diffusers would: the layer picked by clip skip (with the final layer norm on SD,
the penultimate layer and below on SDXL) and, on SDXL pipelines configured so, zeros for an
empty negative prompt. Unlike diffusers, clip skip applies to the negative prompt too, as in A1111,
and a clip skip deeper than the encoder stops at its first layer instead of failing the job.
"""

import inspect
import re
from dataclasses import dataclass

import torch

CHUNK_TOKENS = 75  # CLIP's 77 less the begin and end tokens
COMMA_BACKTRACK = 20  # A1111's default "prompt word wrap length limit", in tokens
ROUND_BRACKET = 1.1
NEGLIGIBLE_MEAN = 1e-3  # relative to the mean absolute value: below it a mean is rounding noise
BREAK = ("BREAK", -1.0)  # the marker parse_prompt_attention leaves between chunks, as A1111 does

ATTENTION = re.compile(
    r"""
    \\\(|\\\)|\\\[|\\]|\\\\|\\|  # escaped brackets and backslashes, a lone backslash
    \(|\[|
    :([+-]?[.\d]+)\)|            # the end of (text:1.3)
    \)|]|
    [^\\()\[\]:]+|
    :
    """,
    re.X,
)
BREAK_WORD = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_prompt_attention(text: str) -> list[tuple[str, float]]:
    """A1111's parser: `"a (red:1.5) [b]"` -> `[("a ", 1.0), ("red", 1.5), (" ", 1.0), ("b", 1/1.1)]`;
    neighbours of equal weight are merged and a `BREAK` leaves the `BREAK` marker."""
    fragments: list[list] = []
    round_brackets: list[int] = []
    square_brackets: list[int] = []

    def multiply_from(start: int, factor: float) -> None:
        for fragment in fragments[start:]:
            if tuple(fragment) != BREAK:
                fragment[1] *= factor

    for match in ATTENTION.finditer(text):
        piece, weight = match.group(0), match.group(1)
        if piece.startswith("\\"):
            fragments.append([piece[1:], 1.0])
        elif piece == "(":
            round_brackets.append(len(fragments))
        elif piece == "[":
            square_brackets.append(len(fragments))
        elif weight is not None and round_brackets and is_number(weight):
            multiply_from(round_brackets.pop(), float(weight))
        elif piece == ")" and round_brackets:
            multiply_from(round_brackets.pop(), ROUND_BRACKET)
        elif piece == "]" and square_brackets:
            multiply_from(square_brackets.pop(), 1 / ROUND_BRACKET)
        else:
            for index, part in enumerate(BREAK_WORD.split(piece)):
                if index:
                    fragments.append(list(BREAK))
                fragments.append([part, 1.0])
    for start in round_brackets:
        multiply_from(start, ROUND_BRACKET)
    for start in square_brackets:
        multiply_from(start, 1 / ROUND_BRACKET)
    return merge_equal_weights([tuple(fragment) for fragment in fragments] or [("", 1.0)])


def is_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text) is not None


def merge_equal_weights(fragments: list[tuple[str, float]]) -> list[tuple[str, float]]:
    merged = [fragments[0]]
    for text, weight in fragments[1:]:
        if weight == merged[-1][1] and BREAK not in (merged[-1], (text, weight)):
            merged[-1] = (merged[-1][0] + text, weight)
        else:
            merged.append((text, weight))
    return merged


@dataclass(frozen=True)
class Chunk:
    """77 token ids (begin, up to 75 of the prompt, end, padding) and a weight for each."""

    tokens: tuple[int, ...]
    weights: tuple[float, ...]


def padded_chunk(tokenizer, tokens: list[int], weights: list[float]) -> Chunk:
    # After the end token comes the tokenizer's own padding, as diffusers pads (SD 2 and SDXL's
    # second tokenizer pad with "!", not with the end token).
    padding = CHUNK_TOKENS - len(tokens)
    return Chunk(
        tokens=(tokenizer.bos_token_id, *tokens, tokenizer.eos_token_id, *[tokenizer.pad_token_id] * padding),
        weights=(1.0, *weights, 1.0, *[1.0] * padding),
    )


def prompt_chunks(tokenizer, text: str) -> list[Chunk]:
    """Split `text` into weighted chunks the way A1111's `tokenize_line` does (no embeddings
    of textual inversion: their names stay words)."""
    fragments = parse_prompt_attention(text)
    token_lists = tokenizer([piece for piece, _ in fragments], add_special_tokens=False, truncation=False).input_ids
    comma = tokenizer.get_vocab().get(",</w>")
    chunks: list[Chunk] = []
    tokens: list[int] = []
    weights: list[float] = []
    last_comma = -1

    def close(end: int) -> None:
        nonlocal tokens, weights, last_comma
        chunks.append(padded_chunk(tokenizer, tokens[:end], weights[:end]))
        tokens, weights, last_comma = tokens[end:], weights[end:], -1

    for fragment_tokens, fragment in zip(token_lists, fragments, strict=True):
        if fragment == BREAK:
            close(len(tokens))
            continue
        for token in fragment_tokens:
            if token == comma:
                last_comma = len(tokens)
            elif len(tokens) == CHUNK_TOKENS and last_comma != -1 and CHUNK_TOKENS - last_comma <= COMMA_BACKTRACK:
                close(last_comma + 1)  # the words after the comma go on in the next chunk
            if len(tokens) == CHUNK_TOKENS:
                close(len(tokens))
            tokens.append(token)
            weights.append(fragment[1])
    if tokens or not chunks:
        close(len(tokens))
    return chunks


def emphasise(hidden: torch.Tensor, weights: tuple[float, ...]) -> torch.Tensor:
    """A1111's "Original" emphasis on one chunk's (1, 77, C) hidden states: each token times its
    weight, then the whole rescaled to the mean it had."""
    if all(weight == 1.0 for weight in weights):
        return hidden  # the rescale would be a no-op
    weighted = hidden * torch.tensor(weights, dtype=hidden.dtype, device=hidden.device).reshape(1, -1, 1)
    original_mean, weighted_mean = hidden.mean(), weighted.mean()
    # A mean that is rounding noise (a final layer norm without bias gives one) has no level to
    # keep: dividing by it would scale the prompt to nothing or to infinity.
    negligible = NEGLIGIBLE_MEAN * hidden.abs().mean()
    if original_mean.abs() < negligible or weighted_mean.abs() < negligible:
        return weighted
    return weighted * (original_mean / weighted_mean)


def encode_chunk(encoder, chunk: Chunk, clip_skip: int, is_xl: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One chunk through one text encoder: (weighted hidden states, pooled embedding or None),
    the layer chosen as diffusers' `encode_prompt` chooses it."""
    ids = torch.tensor([chunk.tokens], device=encoder.device)
    output = encoder(ids, output_hidden_states=True)
    if is_xl:
        pooled = output[0] if output[0].ndim == 2 else None  # only the encoder with a projection pools
        hidden = output.hidden_states[-min(clip_skip + 2, len(output.hidden_states))]
    elif clip_skip:
        pooled = None
        final_layer_norm = getattr(encoder, "text_model", encoder).final_layer_norm
        hidden = final_layer_norm(output.hidden_states[-min(clip_skip + 1, len(output.hidden_states))])
    else:
        pooled, hidden = None, output[0]
    return emphasise(hidden, chunk.weights), pooled


def encode_text(encoders, chunk_lists, clip_skip: int, is_xl: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every chunk through every encoder: (1, 77 × chunks, sum of hidden sizes) and the pooled
    embedding of the first chunk."""
    per_chunk, pooled = [], None
    for index in range(len(chunk_lists[0])):
        hidden_states = []
        for (_, encoder), chunks in zip(encoders, chunk_lists, strict=True):
            hidden, chunk_pooled = encode_chunk(encoder, chunks[index], clip_skip, is_xl)
            hidden_states.append(hidden)
            if index == 0 and chunk_pooled is not None:
                pooled = chunk_pooled
        per_chunk.append(torch.cat(hidden_states, dim=-1))
    return torch.cat(per_chunk, dim=1), pooled


def text_encoders(pipeline) -> list[tuple]:
    """(tokenizer, text encoder) pairs of a CLIP-conditioned pipeline, first encoder first."""
    pairs = [
        (getattr(pipeline, "tokenizer", None), getattr(pipeline, "text_encoder", None)),
        (getattr(pipeline, "tokenizer_2", None), getattr(pipeline, "text_encoder_2", None)),
    ]
    return [(tokenizer, encoder) for tokenizer, encoder in pairs if tokenizer is not None and encoder is not None]


def prompt_arguments(pipeline, prompt: str, negative_prompt: str, clip_skip: int) -> dict:
    """The pipeline-call arguments for the prompts: embeddings with A1111's semantics where the
    pipeline takes them, the text itself where it does not. `clip_skip` counts as A1111 does
    (0 or 1: the last layer; 2: the one before it)."""
    layers_skipped = clip_skip - 1 if clip_skip > 1 else 0  # diffusers counts the layers skipped
    accepted = inspect.signature(pipeline.__call__).parameters
    encoders = text_encoders(pipeline)
    if "prompt_embeds" not in accepted or not encoders:
        return {"prompt": prompt, "negative_prompt": negative_prompt or None, "clip_skip": layers_skipped or None}
    with torch.no_grad():
        is_xl = "pooled_prompt_embeds" in accepted
        return prompt_embeddings(pipeline, encoders, prompt, negative_prompt, layers_skipped, is_xl)


def prompt_embeddings(pipeline, encoders, prompt: str, negative_prompt: str, layers_skipped: int, is_xl: bool) -> dict:
    zero_negative = is_xl and not negative_prompt and getattr(pipeline.config, "force_zeros_for_empty_prompt", False)
    positive = [prompt_chunks(tokenizer, prompt) for tokenizer, _ in encoders]
    negative = [] if zero_negative else [prompt_chunks(tokenizer, negative_prompt) for tokenizer, _ in encoders]
    count = max(len(chunks) for chunks in positive + negative)

    def pad(chunk_lists):
        return [
            chunks + [padded_chunk(tokenizer, [], [])] * (count - len(chunks))
            for (tokenizer, _), chunks in zip(encoders, chunk_lists, strict=True)
        ]

    embeds, pooled = encode_text(encoders, pad(positive), layers_skipped, is_xl)
    if zero_negative:
        negative_embeds, negative_pooled = torch.zeros_like(embeds), torch.zeros_like(pooled)
    else:
        negative_embeds, negative_pooled = encode_text(encoders, pad(negative), layers_skipped, is_xl)
    arguments = {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}
    if is_xl:
        arguments |= {"pooled_prompt_embeds": pooled, "negative_pooled_prompt_embeds": negative_pooled}
    return arguments
