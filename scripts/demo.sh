#!/usr/bin/env bash
# `make demo`: trains an ImageClassifier from scratch on Debian's Fashion-MNIST, tests the best checkpoint, predicts
# a few test images with it, and says where everything is. Runs from any folder; writes under runs/fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh --demo
make build
autotimm=build/bin/autotimm
config=examples/configs/fashion_mnist.json
root=runs/fashion-mnist

echo
echo "== training resnet10t from scratch on Fashion-MNIST (54000 train, 6000 val, 10000 test images)"
start=$(date +%s)
"$autotimm" fit --config "$config" --test | tee "$root.fit.txt"
seconds=$(( $(date +%s) - start ))
best=$(sed -n 's/^best checkpoint: //p' "$root.fit.txt")
logs=$(sed -n 's/^logs: //p' "$root.fit.txt")

echo
echo "== predicting a few test images with the best checkpoint (file names carry the true class)"
samples="$logs/samples"
"$autotimm" data sample --config "$config" --split test --count 6 --out "$samples" > /dev/null
"$autotimm" predict --ckpt-path "$best" --top-k 2 "$samples"

echo
echo "== done in ${seconds} s (fit and test)"
echo "best checkpoint: $best"
echo "metrics:         $logs/metrics.csv"
echo "hyperparameters: $logs/hparams.yaml"
echo "next:            $autotimm predict --ckpt-path $best <your images>"
