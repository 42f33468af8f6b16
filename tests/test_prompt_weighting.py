"""Prompts as AUTOMATIC1111 reads them: emphasis, long prompts in 75-token chunks, BREAK.

The parser is checked on its own; the embeddings and images on real tiny pipelines (random
weights: "A differs from B", "as computed") and the direction of an emphasis on the
committed demo model, which draws the colour it is asked for.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from generation.engine import Engine, JobHooks, ModelSpec, PipelineCache
from generation.engine.prompts import BREAK, parse_prompt_attention, prompt_arguments, prompt_chunks
from generation.engine.run import call_arguments
from tools.demo_shapes import COLOURS

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo-shapes"
# The tiny tokenizer reads one token per character: "x " is one token, "x, " two.
LONG_PROMPT = "x " * 192 + "a red barn"  # 200 tokens: three chunks


@pytest.fixture(scope="module")
def engine():
    return Engine(PipelineCache(max_pipelines=4, device="cpu"))


@pytest.fixture
def loaded(engine, tiny_family_dir):
    """loaded(family) -> the engine's text-to-image pipeline for the tiny model of `family`."""
    return lambda family="sd15": engine.load(ModelSpec(str(tiny_family_dir(family)), family=family)).pipeline


@pytest.fixture
def image(engine, engine_job, tiny_family_dir):
    """image(family, **fields) -> the pixels of the first picture the engine draws (4 steps, 64²)."""

    def draw(family="sd15", **fields) -> np.ndarray:
        request = engine_job(tiny_family_dir(family), family, preview_every=0, **fields)
        return np.asarray(engine.generate(request).pictures[0].image, dtype=np.int16)

    return draw


def embeddings(pipeline, prompt: str, negative_prompt: str = "", clip_skip: int = 0) -> dict:
    return prompt_arguments(pipeline, prompt, negative_prompt, clip_skip)


# The parser


def test_weights_brackets_and_escapes_are_read_as_a1111_reads_them():
    assert parse_prompt_attention(r"a (red:1.5) [circle] \(x\)") == [
        ("a ", 1.0),
        ("red", 1.5),
        (" ", 1.0),
        ("circle", pytest.approx(1 / 1.1)),
        (" (x)", 1.0),
    ]
    assert parse_prompt_attention("an (important) word") == [("an ", 1.0), ("important", 1.1), (" word", 1.0)]


def test_nested_brackets_multiply_and_equal_neighbours_merge():
    assert parse_prompt_attention("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
        ("a ", 1.0),
        ("house", pytest.approx(1.573)),
        (" ", pytest.approx(1.1)),
        ("on", pytest.approx(1.0)),
        (" a ", pytest.approx(1.1)),
        ("hill", pytest.approx(0.55)),
        (", sun, ", pytest.approx(1.1)),
        ("sky", pytest.approx(1.4641)),
        (".", pytest.approx(1.1)),
    ]
    assert parse_prompt_attention("(unnecessary)(parens)") == [("unnecessaryparens", pytest.approx(1.1))]


def test_unbalanced_brackets_close_at_the_end_and_stray_closers_are_text():
    assert parse_prompt_attention("(unbalanced") == [("unbalanced", pytest.approx(1.1))]
    assert parse_prompt_attention("a [b") == [("a ", 1.0), ("b", pytest.approx(1 / 1.1))]
    assert parse_prompt_attention("a ] b ) c") == [("a ] b ) c", 1.0)]
    assert parse_prompt_attention("(x:.)") == [("x:.)", pytest.approx(1.1))]  # not a number: text


def test_break_is_an_uppercase_word_of_its_own():
    assert parse_prompt_attention("a cat BREAK a dog") == [("a cat", 1.0), BREAK, ("a dog", 1.0)]
    assert parse_prompt_attention("(a BREAK b)") == [("a", pytest.approx(1.1)), BREAK, ("b", pytest.approx(1.1))]
    assert parse_prompt_attention("a break at BREAKFAST") == [("a break at BREAKFAST", 1.0)]


def test_adapter_tags_stay_text():
    assert parse_prompt_attention("<lora:film_grain:0.8> a (cat:1.2)") == [
        ("<lora:film_grain:0.8> a ", 1.0),
        ("cat", 1.2),
    ]


# Chunks and embeddings, on random weights


def test_prompts_are_cut_into_chunks_of_75_tokens_each_wrapped_to_77(loaded):
    tokenizer = loaded().tokenizer
    chunks = prompt_chunks(tokenizer, LONG_PROMPT)

    assert len(chunks) == 3 and all(len(chunk.tokens) == len(chunk.weights) == 77 for chunk in chunks)
    assert {chunk.tokens[0] for chunk in chunks} == {tokenizer.bos_token_id}
    assert chunks[2].tokens[51:] == (tokenizer.eos_token_id,) * 26  # 50 tokens, the end token and padding


def test_words_after_a_comma_near_the_end_of_a_chunk_move_to_the_next(loaded):
    tokenizer = loaded().tokenizer
    chunks = prompt_chunks(tokenizer, "x " * 70 + ", lighthouse")
    comma, word = tokenizer.get_vocab()[",</w>"], tokenizer("lighthouse", add_special_tokens=False).input_ids

    assert chunks[0].tokens[71:73] == (comma, tokenizer.eos_token_id)  # the begin token, 70 x, the comma
    assert chunks[1].tokens[1 : 1 + len(word)] == tuple(word)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
@pytest.mark.parametrize("clip_skip", [0, 2])
def test_a_plain_prompt_gives_the_embeddings_diffusers_gives(loaded, family, clip_skip):
    pipeline = loaded(family)
    ours = embeddings(pipeline, "a lighthouse at dusk", "fog", clip_skip)
    theirs = pipeline.encode_prompt(
        "a lighthouse at dusk",
        device=torch.device("cpu"),
        num_images_per_prompt=1,
        do_classifier_free_guidance=True,
        negative_prompt="fog",
        clip_skip=clip_skip - 1 if clip_skip else None,
    )

    assert torch.equal(ours["prompt_embeds"], theirs[0])
    if family == "sdxl":
        assert torch.equal(ours["pooled_prompt_embeds"], theirs[2])
        assert torch.equal(ours["negative_pooled_prompt_embeds"], theirs[3])
    if not clip_skip:  # diffusers skips no layer for the negative prompt; A1111 (and we) do
        assert torch.equal(ours["negative_prompt_embeds"], theirs[1])


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_a_clip_skip_deeper_than_the_encoder_stops_at_its_first_layer(loaded, family):
    pipeline = loaded(family)  # the tiny encoders have a few layers; the form allows 12

    def prompt_embeds(clip_skip: int) -> torch.Tensor:
        return embeddings(pipeline, "a lighthouse at dusk", "fog", clip_skip)["prompt_embeds"]

    assert torch.equal(prompt_embeds(12), prompt_embeds(11))
    assert not torch.equal(prompt_embeds(12), prompt_embeds(0))


def test_emphasis_multiplies_each_token_then_restores_each_encoders_mean(loaded):
    pipeline = loaded("sdxl")  # its penultimate layers have a mean to keep
    plain = embeddings(pipeline, "a red circle")["prompt_embeds"]
    strong = embeddings(pipeline, "a (red:1.5) circle")["prompt_embeds"]
    weak = embeddings(pipeline, "a (red:0.5) circle")["prompt_embeds"]
    weights = torch.ones(1, 77, 1)
    weights[0, 2:5] = 1.5  # after the begin token and "a", the three letters of "red"

    for encoder in (slice(0, 32), slice(32, 64)):
        expected = plain[..., encoder] * weights
        expected *= plain[..., encoder].mean() / expected.mean()
        assert torch.allclose(strong[..., encoder], expected, atol=1e-6)
    assert not torch.allclose(strong, plain) and not torch.allclose(strong, weak)


def test_emphasis_on_embeddings_that_average_to_zero_only_multiplies(loaded):
    """The tiny SD 1.5 encoder ends in a layer norm without bias: each token's mean is zero."""
    pipeline = loaded()
    plain = embeddings(pipeline, "a red circle")["prompt_embeds"]
    strong = embeddings(pipeline, "a (red:1.5) circle")["prompt_embeds"]
    weights = torch.ones(1, 77, 1)
    weights[0, 2:5] = 1.5

    assert abs(plain.mean()) < 1e-6
    assert torch.allclose(strong, plain * weights, atol=1e-6)


def test_break_starts_a_new_chunk_and_the_negative_prompt_is_padded_to_match(loaded):
    arguments = embeddings(loaded(), "a red circle BREAK white background", "blurry")

    assert arguments["prompt_embeds"].shape == (1, 2 * 77, 32)
    assert arguments["negative_prompt_embeds"].shape == (1, 2 * 77, 32)


def test_a_long_negative_prompt_pads_the_prompt(loaded):
    arguments = embeddings(loaded("sdxl"), "a red circle", LONG_PROMPT)

    assert arguments["prompt_embeds"].shape == arguments["negative_prompt_embeds"].shape == (1, 3 * 77, 64)
    assert arguments["pooled_prompt_embeds"].shape == (1, 32)


def test_an_empty_negative_prompt_on_sdxl_is_zeros_as_in_diffusers(loaded):
    arguments = embeddings(loaded("sdxl"), LONG_PROMPT)

    assert arguments["negative_prompt_embeds"].shape == (1, 3 * 77, 64)
    assert not arguments["negative_prompt_embeds"].any() and not arguments["negative_pooled_prompt_embeds"].any()


def test_a_pipeline_that_takes_no_embeddings_gets_the_text():
    class TextOnlyPipeline:
        def __call__(self, prompt, negative_prompt=None, clip_skip=None): ...

    assert embeddings(TextOnlyPipeline(), "a (red:1.5) barn", "", clip_skip=2) == {
        "prompt": "a (red:1.5) barn",
        "negative_prompt": None,
        "clip_skip": 1,
    }


# Images


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_a_plain_prompt_gives_the_image_the_raw_text_gives(engine, engine_job, tiny_family_dir, family):
    request = engine_job(tiny_family_dir(family), family, negative_prompt="fog", num_images=2, preview_every=0)
    ours = engine.generate(request).pictures
    pipeline = engine.load(request.model).pipeline
    arguments = {
        key: value for key, value in call_arguments(pipeline, request, JobHooks()).items() if "embeds" not in key
    }
    theirs = pipeline(**arguments, prompt=request.prompt, negative_prompt=request.negative_prompt).images

    assert [np.array_equal(np.asarray(a.image), np.asarray(b)) for a, b in zip(ours, theirs, strict=True)] == [True] * 2


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_the_end_of_a_200_token_prompt_changes_the_image(image, family):
    ending_in_a_barn = image(family, prompt=LONG_PROMPT)
    ending_in_a_boat = image(family, prompt=LONG_PROMPT.replace("barn", "boat"))

    assert not np.array_equal(ending_in_a_barn, ending_in_a_boat)


def test_raw_text_would_cut_the_end_of_a_long_prompt(engine, engine_job):
    """What the engine did before: diffusers truncates at 77 tokens, the ending is lost."""
    pipeline = engine.load(engine_job().model).pipeline

    def raw(prompt):
        generator = torch.Generator("cpu").manual_seed(1)
        output = pipeline(prompt, num_inference_steps=2, height=64, width=64, generator=generator, output_type="np")
        return output.images[0]

    assert np.array_equal(raw(LONG_PROMPT), raw(LONG_PROMPT.replace("barn", "boat")))


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_emphasis_and_break_change_the_image(image, family):
    plain = image(family, prompt="a red circle, white background")

    for changed in ("a (red:1.5) circle, white background", "a [red] circle, white background"):
        assert not np.array_equal(plain, image(family, prompt=changed)), changed
    assert not np.array_equal(plain, image(family, prompt="a red circle BREAK white background"))


def test_sdxl_negative_prompts_long_and_emphasised_change_the_image(image):
    plain = image("sdxl", negative_prompt="fog")

    assert not np.array_equal(plain, image("sdxl", negative_prompt="(fog:1.6)"))
    assert not np.array_equal(
        image("sdxl", negative_prompt=LONG_PROMPT), image("sdxl", negative_prompt=LONG_PROMPT[2:])
    )


def test_sdxl_turbo_without_guidance_runs_long_and_emphasised_prompts(image):
    plain = image("sdxl-turbo", prompt="a red circle", guidance_scale=0.0, steps=1)
    emphasised = image("sdxl-turbo", prompt=f"a (red:1.4) circle, {LONG_PROMPT}", guidance_scale=0.0, steps=1)

    assert plain.shape == emphasised.shape == (64, 64, 3) and not np.array_equal(plain, emphasised)


# The trained demo model


def red_share(picture) -> float:
    """The share of pixels near the demo model's red."""
    pixels = np.asarray(picture.convert("RGB"), dtype=np.float64)
    return float((np.linalg.norm(pixels - np.array(COLOURS["red"]), axis=-1) < 70).mean())


def test_emphasis_on_red_draws_more_red_on_the_demo_model(engine, engine_job):
    # Guidance 3: at 5 the model's red circle is already as red as it gets, and 1.5 has no room.
    options = {"steps": 6, "guidance_scale": 3.0, "sampler": "Euler", "width": 128, "height": 128, "preview_every": 0}

    def red(word: str, seed: int) -> float:
        prompt = f"a large {word} circle in the centre, white background"
        request = engine_job(DEMO_MODEL, prompt=prompt, seed=seed, **options)
        return red_share(engine.generate(request).pictures[0].image)

    for seed in (11, 12, 13):
        assert red("(red:0.5)", seed) < red("red", seed) < red("(red:1.5)", seed), seed
