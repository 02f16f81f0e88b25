-module(shapes).
-export([area/1]).

%% area multiplies the sides given.
area(Sides) -> lists:foldl(fun(X, Acc) -> X * Acc end, 1, Sides).
