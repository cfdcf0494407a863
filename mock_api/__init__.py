"""A local ops API that fails on demand, so MAOO's recovery paths can be exercised reproducibly."""
