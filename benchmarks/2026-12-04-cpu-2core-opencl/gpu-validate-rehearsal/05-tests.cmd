/work/main/bundle/tests/Cct.Tests --filter FullyQualifiedName~TensorCoreGemmTests\&TestCategory\!=Gpu --results-directory /tmp/validate/tests --no-ansi --no-progress 
