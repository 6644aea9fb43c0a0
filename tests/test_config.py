"""Run configuration (ntm.config): the paper's sizes per task and model
(docs/tasks.md section 5), `--set section.field=value` overrides, and the JSON saved
beside every run.
"""

import json

import pytest

from ntm import recipes
from ntm.config import ModelConfig, RunConfig, TrainConfig, default_config
from ntm.model.registry import names as model_names
from ntm.overrides import apply_overrides

TASKS = ["copy", "repeat-copy", "associative-recall", "dynamic-ngrams", "priority-sort"]

# docs/tasks.md section 5: (read = write heads, controller units, controller layers).
PAPER_NTM = {
    "copy": (1, 100, 1),
    "repeat-copy": (1, 100, 1),
    "associative-recall": (1, 100, 1),
    "dynamic-ngrams": (1, 100, 1),
    "priority-sort": (5, 100, 2),
}
PAPER_NTM_FF = {
    "copy": (1, 100),
    "repeat-copy": (1, 100),
    "associative-recall": (4, 256),
    "dynamic-ngrams": (1, 100),
    "priority-sort": (8, 512),
}
# docs/tasks.md section 5: (units per layer, layers).
PAPER_LSTM = {
    "copy": (256, 3),
    "repeat-copy": (512, 3),
    "associative-recall": (256, 3),
    "dynamic-ngrams": (128, 3),
    "priority-sort": (128, 3),
}


# ---------------------------------------------------------------------------
# default_config: the paper's settings


@pytest.mark.parametrize("task", TASKS)
def test_default_ntm_has_the_papers_heads_and_controller(task):
    model = default_config(task, "ntm").model
    heads, hidden, layers = PAPER_NTM[task]
    assert model.name == "ntm"
    assert (model.read_heads, model.write_heads) == (heads, heads)
    assert (model.hidden_size, model.layers) == (hidden, layers)


@pytest.mark.parametrize("task", TASKS)
def test_default_ntm_ff_has_the_papers_heads_and_controller(task):
    model = default_config(task, "ntm-ff").model
    heads, hidden = PAPER_NTM_FF[task]
    assert model.name == "ntm-ff"
    assert (model.read_heads, model.write_heads) == (heads, heads)
    assert model.hidden_size == hidden


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", ["lstm", "gru", "rnn"])
def test_default_baselines_have_the_papers_lstm_sizes(task, name):
    model = default_config(task, name).model
    assert model.name == name
    assert (model.hidden_size, model.layers) == PAPER_LSTM[task]


def test_priority_sort_ntm_has_five_heads_and_two_layers_of_100():
    model = default_config("priority-sort", "ntm").model
    assert (model.read_heads, model.write_heads, model.layers, model.hidden_size) == (5, 5, 2, 100)


def test_associative_recall_ntm_ff_has_four_heads_and_256_units():
    model = default_config("associative-recall", "ntm-ff").model
    assert (model.read_heads, model.write_heads, model.hidden_size) == (4, 4, 256)


def test_repeat_copy_lstm_is_three_layers_of_512():
    model = default_config("repeat-copy", "lstm").model
    assert (model.layers, model.hidden_size) == (3, 512)


# The DNC copies with twice the NTM's memory: as its memory fills, allocation
# fades (checkpoints/README.md, "The DNC on copy").
LARGER_MEMORY = {("copy", "dnc"): 256, ("copy", "dnc-mds"): 256}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", model_names())
def test_memory_is_128_by_20_throughout(task, name):
    model = default_config(task, name).model
    assert (model.memory_size, model.memory_width) == (LARGER_MEMORY.get((task, name), 128), 20)


def test_default_config_records_the_task_and_has_no_task_options():
    config = default_config("dynamic-ngrams", "ntm")
    assert config.task == "dynamic-ngrams"
    assert config.task_options == {}


def test_default_model_is_the_ntm():
    assert default_config("copy").model.name == "ntm"


def test_default_config_rejects_an_unknown_task_listing_the_valid_ones():
    with pytest.raises(ValueError, match="sorting") as error:
        default_config("sorting", "ntm")
    for task in TASKS:
        assert task in str(error.value)


def test_default_configs_do_not_share_mutable_state():
    first, second = default_config("copy"), default_config("copy")
    first.task_options["max_length"] = 30
    first.model.memory_size = 256
    assert second.task_options == {} and second.model.memory_size == 128


# ---------------------------------------------------------------------------
# apply_overrides: `section.field=value`


def test_model_override_sets_an_int():
    config = apply_overrides(default_config("copy"), ["model.memory_size=256"])
    assert config.model.memory_size == 256 and type(config.model.memory_size) is int


def test_train_override_sets_a_float():
    config = apply_overrides(default_config("copy"), ["train.lr=3e-5"])
    assert config.train.lr == 3e-5


def test_an_integer_is_accepted_for_a_float_field_and_stored_as_float():
    config = apply_overrides(default_config("copy"), ["train.clip_grad_norm=10"])
    assert config.train.clip_grad_norm == 10.0 and type(config.train.clip_grad_norm) is float


def test_train_override_sets_a_bool_from_true_or_false():
    config = apply_overrides(default_config("copy"), ["train.stop_when_solved=true"])
    assert config.train.stop_when_solved is True
    config = apply_overrides(config, ["train.stop_when_solved=false"])
    assert config.train.stop_when_solved is False


def test_a_string_field_takes_the_value_as_written():
    config = apply_overrides(default_config("copy"), ["train.optimizer=rmsprop", "model.name=gru"])
    assert config.train.optimizer == "rmsprop" and config.model.name == "gru"


def test_task_overrides_go_to_task_options_parsed_as_json():
    config = apply_overrides(default_config("copy"), ["task.max_length=30", "task.name=x"])
    assert config.task_options == {"max_length": 30, "name": "x"}


def test_overrides_apply_in_order_the_last_one_wins():
    config = apply_overrides(default_config("copy"), ["model.memory_size=256", "model.memory_size=64"])
    assert config.model.memory_size == 64


def test_overrides_leave_other_fields_alone():
    config = apply_overrides(default_config("priority-sort"), ["model.memory_size=256"])
    assert (config.model.read_heads, config.model.layers, config.train.batch_size) == (5, 2, TrainConfig().batch_size)


def test_an_unknown_section_is_rejected_naming_the_valid_ones():
    with pytest.raises(ValueError, match="optim") as error:
        apply_overrides(default_config("copy"), ["optim.lr=1"])
    for section in ("task", "model", "train"):
        assert section in str(error.value)


def test_an_unknown_field_is_rejected_listing_the_sections_fields():
    with pytest.raises(ValueError, match="'heads'") as error:
        apply_overrides(default_config("copy"), ["model.heads=2"])
    assert "read_heads" in str(error.value) and "write_heads" in str(error.value)


@pytest.mark.parametrize("assignment", ["model.memory_size", "memory_size=256", "model.memory_size:256"])
def test_an_assignment_without_section_field_equals_value_is_rejected_with_an_example(assignment):
    with pytest.raises(ValueError, match="section.field=value"):
        apply_overrides(default_config("copy"), [assignment])


@pytest.mark.parametrize(
    "assignment",
    [
        "model.memory_size=abc",  # text for an int
        "model.memory_size=1.5",  # float for an int
        "model.memory_size=true",  # bool for an int
        "train.lr=fast",  # text for a float
        "train.lr=true",  # bool for a float
        "train.stop_when_solved=1",  # int for a bool
        "train.stop_when_solved=yes",  # text for a bool
    ],
)
def test_a_value_of_the_wrong_type_is_rejected_naming_the_key(assignment):
    key = assignment.split("=")[0]
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        apply_overrides(default_config("copy"), [assignment])


def test_a_rejected_type_names_the_expected_type():
    with pytest.raises(ValueError, match="int"):
        apply_overrides(default_config("copy"), ["model.memory_size=abc"])


# ---------------------------------------------------------------------------
# RunConfig JSON, saved as config.json beside every run


def test_run_config_round_trips_through_json():
    config = apply_overrides(
        default_config("priority-sort", "ntm-ff"),
        ["model.memory_size=256", "train.lr=3e-5", "train.stop_when_solved=true", "task.length=30"],
    )
    restored = RunConfig.from_dict(json.loads(config.to_json()))
    assert restored == config
    assert isinstance(restored.model, ModelConfig) and isinstance(restored.train, TrainConfig)


def test_to_json_writes_every_section():
    data = json.loads(default_config("copy").to_json())
    assert set(data) == {"task", "task_options", "curriculum", "model", "train"}
    assert data["model"]["memory_size"] == 128 and data["train"]["batch_size"] == recipes.ntm("copy")["train.batch_size"]


def test_from_dict_fills_missing_fields_with_defaults():
    config = RunConfig.from_dict({"task": "copy", "model": {"name": "lstm"}})
    assert config.model == ModelConfig(name="lstm")
    assert config.train == TrainConfig()
    assert config.task_options == {}


def test_from_dict_rejects_an_unknown_field_naming_it():
    with pytest.raises(ValueError, match="heads"):
        RunConfig.from_dict({"task": "copy", "model": {"heads": 2}})


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("model", model_names())
def test_each_models_recipe_is_its_default_on_each_task(task, model):
    """`ntm train TASK --model MODEL` starts from the recipe its registry entry gives, a valid config."""
    from ntm.model.registry import get
    from ntm.overrides import typed_value

    config = default_config(task, model)
    if get(model).refusal(task):  # a bidirectional model where targets are later inputs
        with pytest.raises(ValueError, match="cannot be trained"):
            config.validate()
        return
    config.validate()
    for key, value in get(model).recipe(task).items():
        section, field = key.split(".", 1)
        part = getattr(config, section)
        if not hasattr(part, field):  # a model's own option (model.options)
            assert part.options[field] == value, key
            continue
        assert getattr(part, field) == typed_value(config, key, value), key


def test_the_ntm_has_a_recipe_for_every_task_and_tasks_differ():
    assert set(recipes._NTM) == set(TASKS)
    batches = {task: default_config(task).train.batch_size for task in TASKS}
    assert batches["repeat-copy"] == 1 and batches["copy"] == 32 and batches["priority-sort"] == 4
    assert default_config("copy", "rnn").train.batch_size == TrainConfig().batch_size  # no recipe: the defaults


@pytest.mark.parametrize("task", TASKS)
def test_the_lstm_trains_with_the_papers_rmsprop_and_its_forget_gates_open(task):
    config = default_config(task, "lstm")
    assert (config.train.optimizer, config.train.lr, config.train.clip_grad_value) == ("rmsprop", 1e-4, 10.0)
    assert config.model.options["forget_bias"] == 1.0
    assert config.train.steps * config.train.batch_size == 2_000_000


@pytest.mark.parametrize("task", TASKS)
def test_the_gru_trains_with_the_lstms_recipe_less_the_forget_gate(task):
    gru, lstm = default_config(task, "gru"), default_config(task, "lstm")
    assert "forget_bias" not in gru.model.options  # a GRU has no forget gate
    assert gru.train == lstm.train
