/tmp/cct-bundle/tests/Cct.Tests --filter FullyQualifiedName~Gelu --results-directory /tmp/validate/tests --no-ansi --no-progress 
