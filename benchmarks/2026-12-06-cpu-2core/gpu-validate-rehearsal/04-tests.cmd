/tmp/bundle/tests/Cct.Tests --filter FullyQualifiedName~GraphReplayPolicy\|FullyQualifiedName~Gelu --results-directory /tmp/validate/tests --no-ansi --no-progress 
