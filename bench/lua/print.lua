for i = 1, 100000 do print(i, 'line') end
