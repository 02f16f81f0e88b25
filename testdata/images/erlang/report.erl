-module(report).
-export([main/0]).

%% main prints the area of the rectangles given after -extra, and a few
%% lines that exercise the standard library (lists, string, crypto-free
%% hashing with erlang:phash2, unicode).
main() ->
    Args = [list_to_integer(A) || A <- init:get_plain_arguments()],
    Area = shapes:area(Args),
    io:format("args: ~w~n", [Args]),
    io:format("area: ~w~n", [Area]),
    io:format("sorted: ~w~n", [lists:sort(fun(A, B) -> A > B end, Args)]),
    io:format("upper: ~s~n", [string:uppercase("pare erlang")]),
    io:format("bytes: ~w~n", [byte_size(unicode:characters_to_binary("grüße"))]),
    init:stop().
