# The book's TwoLayerNet.gradient (ch. 5, sigmoid hidden layer) on a fixed tiny example: the
# reference numbers of test/nn/twoLayerGradient.test.ts. Run: python3 bench/book_two_layer_gradient.py
import numpy as np
np.set_printoptions(precision=17)
def sigmoid(x): return 1 / (1 + np.exp(-x))
def sigmoid_grad(x): return (1.0 - sigmoid(x)) * sigmoid(x)
def softmax(x):
    x = x.T; x = x - np.max(x, axis=0); y = np.exp(x) / np.sum(np.exp(x), axis=0); return y.T
# the book's TwoLayerNet.gradient (ch05/two_layer_net.py … ch04 version with sigmoid), verbatim
def gradient(params, x, t):
    W1, W2 = params['W1'], params['W2']; b1, b2 = params['b1'], params['b2']
    grads = {}
    batch_num = x.shape[0]
    a1 = np.dot(x, W1) + b1; z1 = sigmoid(a1); a2 = np.dot(z1, W2) + b2; y = softmax(a2)
    dy = (y - t) / batch_num
    grads['W2'] = np.dot(z1.T, dy); grads['b2'] = np.sum(dy, axis=0)
    da1 = np.dot(dy, W2.T); dz1 = sigmoid_grad(a1) * da1
    grads['W1'] = np.dot(x.T, dz1); grads['b1'] = np.sum(dz1, axis=0)
    return grads
p = {'W1': np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]), 'b1': np.array([0.01, -0.02]),
     'W2': np.array([[0.7, -0.8, 0.9], [-1.0, 1.1, -1.2]]), 'b2': np.array([0.05, 0.0, -0.05])}
x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]]); t = np.array([[0, 0, 1.0], [1.0, 0, 0]])
g = gradient(p, x, t)
for k in ['W1', 'b1', 'W2', 'b2']: print(k, repr(g[k].ravel().tolist()))
