"""The models: the NTM (addressing, memory, controller) and the recurrent baselines, chosen by name."""
