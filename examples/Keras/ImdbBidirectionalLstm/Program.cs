// Keras's reference example imdb_bidirectional_lstm.py: Embedding(20000, 128) -> Bidirectional(LSTM(64)) ->
// Dropout(0.5) -> Dense(1, sigmoid), binary cross-entropy, Adam, reviews cut to 100 words, batch 32, 4 epochs
// (Keras: ~0.8146 test accuracy, ~150 s per epoch on a Core i7). The model is in ../Shared/KerasModels.cs.
//
//   dotnet run -c Release --project examples/Keras/ImdbBidirectionalLstm -- [--data PATH] [--epochs N]
//       [--batch N] [--threads N] [--subset N] [--seed N] [--charts DIR] [--save PATH]
using NanoNet.Examples.Keras;

return ImdbExample.Run(args, "imdb_bidirectional_lstm", KerasModels.ImdbBidirectionalLstm, KerasModels.ImdbBidirectionalLstmMaxLength,
    KerasModels.ImdbBidirectionalLstmBatchSize, KerasModels.ImdbBidirectionalLstmEpochs);
