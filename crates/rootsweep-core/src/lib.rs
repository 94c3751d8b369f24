//! rootsweep-core: the engine library (built in a later issue).
