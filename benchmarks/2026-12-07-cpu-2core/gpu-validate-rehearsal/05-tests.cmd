/tmp/b/cct-bundle/tests/Cct.Tests --filter FullyQualifiedName~Gelu\|FullyQualifiedName~EveryParameterStartsOnSixteenBytes --results-directory /tmp/validate/tests --no-ansi --no-progress 
