"""Neural Turing Machines and recurrent baselines on the tasks of Graves et al. (2014).

The library: `ntm.train.train`, `ntm.evaluate.evaluate_checkpoint`,
`ntm.models.build_model`; the CLI in `ntm.cli` wraps them.
"""

__version__ = "0.1.0"
