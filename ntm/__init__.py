"""Neural Turing Machines and recurrent baselines on the tasks of Graves et al. (2014).

The library: `ntm.training.loop.train`, `ntm.evaluation.evaluate_checkpoint`,
`ntm.model.registry.build_model`; the CLI in `ntm.cli` wraps them.
"""

__version__ = "0.1.0"
