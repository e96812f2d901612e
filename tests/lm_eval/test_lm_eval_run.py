"""lm-eval runs the ECInstruct tasks and reports what ``ecinstruct_eval.score`` reports.

A tiny random-weight Llama (built locally, no download) generates for the SA
and QPR test sets of a small dataset folder; the metrics lm-eval prints must
equal ``ecinstruct_eval.score`` on the generations it logged, and the prompts
must be the ones ``ecinstruct_eval.prompts`` builds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecinstruct_eval.lm_eval_tasks import (
    FILTER_NAME,
    STOP_SEQUENCES,
    answer_text,
    metric_names,
    write_configs,
)
from ecinstruct_eval.prompts import build_prompt

lm_eval = pytest.importorskip("lm_eval")
LM = pytest.importorskip("lm_eval.api.model").LM
pytest.importorskip("transformers")


def _evaluate(include, tasks, model, *, num_fewshot=0, limit=None):
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model},dtype=float32",
        tasks=tasks,
        num_fewshot=num_fewshot,
        limit=limit,
        log_samples=True,
        task_manager=TaskManager(include_path=str(include), include_defaults=False),
        bootstrap_iters=0,
        device="cpu",
        batch_size=4,
    )


def _assert_metrics_equal_score(results, task_name, code, references):
    from ecinstruct_eval import score

    samples = results["samples"][task_name]
    predictions = {s["doc"]["id"]: s["filtered_resps"][0] for s in samples}
    by_id = {r["id"]: r for r in references}
    expected = score(predictions, code, [by_id[i] for i in predictions], split="test")
    reported = results["results"][task_name]
    for metric in metric_names(code):
        want = expected.n_failed if metric == "n_failed" else expected[metric]
        assert reported[f"{metric},{FILTER_NAME}"] == pytest.approx(want, abs=1e-12), metric
    return expected, predictions


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory, hub_dir, tiny_model):
    include = write_configs(hub_dir, out=tmp_path_factory.mktemp("tasks"))
    return _evaluate(include, ["ecinstruct_sa", "ecinstruct_qpr"], tiny_model)


def test_reported_metrics_equal_ecinstruct_score(zero_shot, tiny_tables):
    sa, sa_preds = _assert_metrics_equal_score(zero_shot, "ecinstruct_sa", "SA", tiny_tables["SA"]["test"])
    qpr, _ = _assert_metrics_equal_score(zero_shot, "ecinstruct_qpr", "QPR", tiny_tables["QPR"]["test"])
    assert len(sa_preds) == 8 and qpr.n == 6
    # The tiny model's outputs are a mix of answers and failures: the check is not vacuous.
    assert 0 < sa.n_failed < sa.n and sa["accuracy"] > 0
    assert len(set(sa_preds.values())) > 2
    assert qpr["ndcg"] > 0


def test_prompts_are_the_zero_shot_templates(zero_shot):
    for sample in zero_shot["samples"]["ecinstruct_sa"]:
        context, gen_kwargs = sample["arguments"][0]
        assert context == build_prompt(sample["doc"])
        assert gen_kwargs["until"] == list(STOP_SEQUENCES)
        # The tiny model never emits EOS: the logged answer is the raw generation's first paragraph.
        (raw,) = sample["resps"][0]
        assert "\n\n" in raw and sample["filtered_resps"][0] == answer_text(raw)


def test_one_shot_on_the_sample_build_uses_each_records_own_example(tmp_path, sample_build, tiny_model):
    from ecinstruct_eval import load_split

    include = write_configs(sample_build, out=tmp_path / "tasks")  # json loader on the build
    results = _evaluate(include, ["ecinstruct_sa", "ecinstruct_qpr"], tiny_model, num_fewshot=1, limit=4)
    for name, code in (("ecinstruct_sa", "SA"), ("ecinstruct_qpr", "QPR")):
        train = {r["id"]: r for r in load_split(code, "train", sample_build)}
        samples = results["samples"][name]
        assert len(samples) == 4
        for sample in samples:
            doc = sample["doc"]
            shot = train[doc["few_shot_id"]]
            assert sample["arguments"][0][0] == build_prompt(doc, shot=shot)
            assert shot["input"] in sample["arguments"][0][0]
        _assert_metrics_equal_score(results, name, code, load_split(code, "test", sample_build))


def test_every_task_and_group_loads_the_sample_export(tmp_path, sample_hub):
    from lm_eval.tasks import TaskManager

    from ecinstruct_eval import TASKS, load_split

    include = write_configs(sample_hub, out=tmp_path / "tasks")
    manager = TaskManager(include_path=str(include), include_defaults=False)
    loaded = manager.load(["ecinstruct", "ecinstruct_unseen"])
    tasks = loaded["tasks"]
    assert len(tasks) == 32
    assert set(loaded["groups"]) >= {"ecinstruct", "ecinstruct_ind", "ecinstruct_ood", "ecinstruct_unseen"}
    train = {code: {r["id"]: r for r in load_split(code, "train", sample_hub)} for code in TASKS}
    for task in tasks.values():
        doc = task.eval_docs[0]
        assert doc["split"] == task.config.test_split
        assert task.fewshot_context(doc, num_fewshot=0) == build_prompt(doc)
        shot = train[doc["task"]][doc["few_shot_id"]]
        assert task.fewshot_context(doc, num_fewshot=1) == build_prompt(doc, shot=shot)


def test_more_than_one_shot_is_refused(tmp_path, hub_dir):
    from lm_eval.tasks import TaskManager

    include = write_configs(hub_dir, out=tmp_path / "tasks")
    manager = TaskManager(include_path=str(include), include_defaults=False)
    task = manager.load(["ecinstruct_qpr"])["tasks"]["ecinstruct_qpr"]
    doc = task.eval_docs[0]
    with pytest.raises(ValueError, match="zero-shot or one-shot"):
        task.fewshot_context(doc, num_fewshot=2)


def test_one_shot_needs_a_few_shot_id(tmp_path, tiny_tables, write_hub_folder):
    from lm_eval.tasks import TaskManager

    test = [dict(r, few_shot_id="") for r in tiny_tables["SA"]["test"][:2]]
    hub = write_hub_folder(tmp_path / "hub", {"SA": {"train": tiny_tables["SA"]["train"], "test": test}})
    include = write_configs(hub, out=tmp_path / "tasks")
    manager = TaskManager(include_path=str(include), include_defaults=False)
    task = manager.load(["ecinstruct_sa"])["tasks"]["ecinstruct_sa"]
    with pytest.raises(ValueError, match="SA-test-00000 has no one-shot example"):
        task.fewshot_context(task.eval_docs[0], num_fewshot=1)
    assert task.fewshot_context(task.eval_docs[0], num_fewshot=0) == build_prompt(test[0])


def test_the_documented_command_line(tmp_path, sample_hub, tiny_model):
    from ecinstruct_eval import load_split, score

    include = write_configs(sample_hub, out=tmp_path / "tasks")
    out = tmp_path / "results"
    cmd = [
        sys.executable, "-m", "lm_eval", "--model", "hf",
        "--model_args", f"pretrained={tiny_model},dtype=float32", "--device", "cpu",
        "--include_path", str(include), "--tasks", "ecinstruct_sa,ecinstruct_qpr",
        "--limit", "3", "--output_path", str(out), "--log_samples",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SA (IND)" in done.stdout
    (results_file,) = out.glob("*/results_*.json")
    reported = json.loads(results_file.read_text())["results"]
    for name, code in (("ecinstruct_sa", "SA"), ("ecinstruct_qpr", "QPR")):
        (samples_file,) = out.glob(f"*/samples_{name}_*.jsonl")
        samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
        predictions = {s["doc"]["id"]: s["filtered_resps"][0] for s in samples}
        gold = {r["id"]: r for r in load_split(code, "test", sample_hub)}
        expected = score(predictions, code, [gold[i] for i in predictions])
        assert expected.n == 3
        for metric in metric_names(code):
            want = expected.n_failed if metric == "n_failed" else expected[metric]
            assert reported[name][f"{metric},{FILTER_NAME}"] == pytest.approx(want, abs=1e-12), (
                name, metric)


def test_score_options_come_from_lm_eval_metadata(tmp_path, hub_dir, tiny_tables):
    from lm_eval.tasks import TaskManager

    from ecinstruct_eval import score
    from ecinstruct_eval.lm_eval_tasks import utils

    include = write_configs(hub_dir, out=tmp_path / "tasks")
    manager = TaskManager(
        include_path=str(include), include_defaults=False,
        metadata={"score_options": {"compat": "released"}},
    )
    task = manager.load(["ecinstruct_sa"])["tasks"]["ecinstruct_sa"]
    docs = list(task.eval_docs)
    outputs = ["B", "", "C", "nonsense", "D", "E", "A", "B"]
    items = [task.process_results(doc, [out])["accuracy"] for doc, out in zip(docs, outputs)]
    references = tiny_tables["SA"]["test"]
    released = score(outputs, "SA", references, compat="released")
    paper = score(outputs, "SA", references)
    assert released["accuracy"] != paper["accuracy"]  # failed outputs are dropped there
    assert utils.agg_accuracy(items) == pytest.approx(released["accuracy"])
    assert utils.agg_n_failed(items) == released.n_failed


def test_chat_template_and_system_instruction_wrap_the_whole_prompt(tmp_path, hub_dir):
    from lm_eval.tasks import TaskManager

    include = write_configs(hub_dir, out=tmp_path / "tasks")
    manager = TaskManager(include_path=str(include), include_defaults=False)
    task = manager.load(["ecinstruct_sa"])["tasks"]["ecinstruct_sa"]
    doc = task.eval_docs[0]
    seen = []

    def template(messages, add_generation_prompt=True):
        seen.append((messages, add_generation_prompt))
        return "<chat>"

    context = task.fewshot_context(
        doc, num_fewshot=0, system_instruction="Be brief.", apply_chat_template=True,
        chat_template=template,
    )
    assert context == "<chat>"
    assert seen == [([{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": build_prompt(doc)}], True)]
    plain = task.fewshot_context(doc, num_fewshot=0, system_instruction="Be brief.")
    assert plain == "Be brief.\n\n" + build_prompt(doc)


class _ScriptedLM(LM):
    """Answers each request with a scripted raw generation, cut at the request's
    stop sequences exactly as lm-eval's hf model cuts them."""

    def __init__(self, generations):
        super().__init__()
        self.generations = list(generations)

    def generate_until(self, requests, disable_tqdm=False):
        from lm_eval.models.utils import postprocess_generated_text

        out = []
        for request in requests:
            _, gen_kwargs = request.args
            raw = self.generations[int(request.doc["id"].rsplit("-", 1)[1])]
            out.append(postprocess_generated_text(raw, gen_kwargs["until"], None))
        return out

    def loglikelihood(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError


def test_a_leading_blank_line_does_not_empty_the_answer(tmp_path, hub_dir, tiny_tables):
    from lm_eval.tasks import TaskManager

    from ecinstruct_eval import score

    test = tiny_tables["SA"]["test"]
    gold = [r["output"] for r in test]
    raw = [
        f"\n\n{gold[0]}",
        f"\n \n{gold[1]}: whatever its text\n\nBecause the review says so.",
        f" {gold[2]}\nInstruction: and the model carries on",
        f"{gold[3]}",
        "\n\n",
        "\nInstruction: no answer at all",
        f"\n\n{gold[6]}\n\n{gold[6]}",
        f"\n{gold[7]}\n",
    ]
    results = lm_eval.simple_evaluate(
        model=_ScriptedLM(raw),
        tasks=["ecinstruct_sa"],
        log_samples=True,
        task_manager=TaskManager(include_path=str(write_configs(hub_dir, out=tmp_path / "tasks")),
                                 include_defaults=False),
        bootstrap_iters=0,
    )
    samples = sorted(results["samples"]["ecinstruct_sa"], key=lambda s: s["doc"]["id"])
    answers = [s["filtered_resps"][0] for s in samples]
    assert answers == [gold[0], f"{gold[1]}: whatever its text", gold[2], gold[3], "", "",
                       gold[6], gold[7]]
    reported = results["results"]["ecinstruct_sa"]
    assert reported[f"n_failed,{FILTER_NAME}"] == 2
    assert reported[f"accuracy,{FILTER_NAME}"] == pytest.approx(6 / 8)
    assert reported[f"accuracy,{FILTER_NAME}"] == pytest.approx(score(answers, "SA", test)["accuracy"])
