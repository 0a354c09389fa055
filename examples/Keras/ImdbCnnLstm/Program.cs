// Keras's reference example imdb_cnn_lstm.py: Embedding(20000, 128) -> Dropout(0.25) -> Conv1D(64, 5, relu) ->
// MaxPooling1D(4) -> LSTM(70) -> Dense(1, sigmoid), binary cross-entropy, Adam, reviews cut to 100 words,
// batch 30, 2 epochs (Keras: 0.8498 test accuracy). The model is in ../Shared/KerasModels.cs.
//
//   dotnet run -c Release --project examples/Keras/ImdbCnnLstm -- [--data PATH] [--epochs N] [--batch N]
//       [--threads N] [--subset N] [--seed N] [--charts DIR] [--save PATH]
using NanoNet.Examples.Keras;

return ImdbExample.Run(args, "imdb_cnn_lstm", KerasModels.ImdbCnnLstm, KerasModels.ImdbCnnLstmMaxLength,
    KerasModels.ImdbCnnLstmBatchSize, KerasModels.ImdbCnnLstmEpochs);
