"""training: trains cnncalc's Keras models with adaptive optimizers and cyclical policies.

Modules: optimizers (make, RMSpropNesterov), schedules (CyclicalLearningRate), finders (LR and batch-size range tests), batching (CyclicalBatchSize).
"""
