env CCT_BENCH_CCT_PRECISION=fp32 bash /work/main/bundle/tools/bench/run-bench-pair.sh /work/main/bundle /tmp/validate/bench cpu 
