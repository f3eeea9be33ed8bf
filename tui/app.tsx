/**
 * The terminal UI: a pure view of a {@link NodeSnapshot} plus keyboard actions.
 *
 * Keys: `c` call someone (type a name, Enter), `a` answer, `d` decline, `h` hang up,
 * space hold/resume, `q` quit. The selected call is the first ringing incoming call,
 * else the first call that has not ended.
 *
 * @module
 */
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { CallSnapshot } from '../src/call/call.ts';
import type { CallMediaStats, NodeActions, NodeSnapshot } from '../src/node/snapshot.ts';
import { figure, formatDuration, levelBar, shortId } from './format.ts';

/** Props of {@link App}. `now` is passed in so the view stays a pure function. */
export interface AppProps {
  snapshot: NodeSnapshot;
  actions: NodeActions;
  now: number;
}

/** The call the keys act on. */
export function selectedCall(calls: CallSnapshot[]): CallSnapshot | undefined {
  return calls.find((c) => c.direction === 'incoming' && c.state === 'ringing') ?? calls.find((c) => c.state !== 'ended');
}

/** The whole screen. */
export function App({ snapshot, actions, now }: AppProps) {
  // The name being typed: kept in a ref as well, because several keys can arrive before
  // React re-renders, and each must see the text the previous one produced.
  const [dialing, setDialingState] = useState<string | undefined>(undefined);
  const dialingRef = useRef<string | undefined>(undefined);
  const setDialing = (v: string | undefined) => {
    dialingRef.current = v;
    setDialingState(v);
  };
  const selected = selectedCall(snapshot.calls);

  useInput((input, key) => {
    const dialing = dialingRef.current;
    if (dialing !== undefined) {
      if (key.return) {
        if (dialing.trim()) actions.call(dialing.trim());
        setDialing(undefined);
      } else if (key.escape) setDialing(undefined);
      else if (key.backspace || key.delete) setDialing(dialing.slice(0, -1));
      else if (input && !key.ctrl && !key.meta && dialing.length < 64) setDialing(dialing + input);
      return;
    }
    if (input === 'q') actions.quit();
    else if (input === 'c') setDialing('');
    else if (!selected) return;
    else if (input === 'a' && selected.state === 'ringing' && selected.direction === 'incoming') actions.accept(selected.callId);
    else if (input === 'd' && selected.state === 'ringing' && selected.direction === 'incoming') actions.decline(selected.callId);
    else if (input === 'h') actions.hangup(selected.callId);
    else if (input === ' ' && selected.state === 'active') actions.hold(selected.callId);
    else if (input === ' ' && selected.state === 'on-hold') actions.resume(selected.callId);
  });

  return (
    <Box flexDirection="column">
      <Box>
        <Text bold color="cyan">tincan </Text>
        <Text bold>{snapshot.name ?? '(no name)'} </Text>
        <Text color={snapshot.role === 'supernode' ? 'magenta' : 'green'}>[{snapshot.role}] </Text>
        <Text dimColor>id {shortId(snapshot.id)}  fingerprint {snapshot.fingerprint}</Text>
      </Box>
      {snapshot.roleReason ? <Text dimColor>role: {snapshot.roleReason}</Text> : null}
      <Text>
        supernodes:{' '}
        {snapshot.supernodes.length === 0
          ? 'none yet'
          : snapshot.supernodes.map((s) => `${s.address} (${figure(s.rttMs, ' ms')})`).join('  ')}
      </Text>
      <Box flexDirection="column" marginTop={1}>
        <Text bold>Calls</Text>
        {snapshot.calls.length === 0 ? <Text dimColor>  no calls — press c to call someone (try "echo")</Text> : null}
        {snapshot.calls.map((c) => (
          <CallRow key={c.callId} call={c} media={snapshot.media[c.callId]} selected={c.callId === selected?.callId} now={now} />
        ))}
      </Box>
      {snapshot.events.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          {snapshot.events.slice(-4).map((e, i) => (
            <Text key={i} dimColor>
              {e}
            </Text>
          ))}
        </Box>
      ) : null}
      <Box marginTop={1}>
        {dialing !== undefined ? (
          <Text>
            call: <Text bold>{dialing}</Text>
            <Text inverse> </Text> <Text dimColor>(Enter to call, Esc to cancel)</Text>
          </Text>
        ) : (
          <Text dimColor>[c] call  [a] answer  [d] decline  [h] hang up  [space] hold  [q] quit</Text>
        )}
      </Box>
    </Box>
  );
}

function CallRow({ call, media, selected, now }: { call: CallSnapshot; media?: CallMediaStats; selected: boolean; now: number }) {
  const who = call.remoteName ?? shortId(call.remoteKey);
  const since = call.answeredAt ?? call.createdAt;
  const color = call.state === 'ended' ? 'gray' : call.state === 'ringing' ? 'yellow' : call.state === 'active' ? 'green' : 'white';
  const label = call.state === 'ringing' && call.direction === 'incoming' ? 'incoming call' : call.state;
  return (
    <Box flexDirection="column">
      <Text color={color}>
        {selected ? '▶ ' : '  '}
        {call.direction === 'outgoing' ? '→' : '←'} {who}  {label}
        {call.state === 'ended' ? ` (${call.reason}${call.detail ? `: ${call.detail}` : ''})` : `  ${formatDuration((call.endedAt ?? now) - since)}`}
      </Text>
      {media && call.state !== 'ended' ? (
        <Text dimColor>
          {'    '}
          {media.path}
          {media.via ? ` via ${media.via}` : ''}  rtt {figure(media.rttMs, ' ms')}  jitter {figure(media.jitterMs, ' ms')}  loss{' '}
          {figure(media.lossPct, '%', 1)}  MOS {figure(media.mos, '', 1)}
        </Text>
      ) : null}
      {media && call.state !== 'ended' ? (
        <Text>
          {'    '}mic {levelBar(media.micDb)} {figure(media.micDb, ' dB')}   speaker {levelBar(media.speakerDb)} {figure(media.speakerDb, ' dB')}
        </Text>
      ) : null}
    </Box>
  );
}
