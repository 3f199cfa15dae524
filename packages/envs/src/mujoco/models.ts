/**
 * MJCF models of the locomotion tasks, written for this repo from the figures of the standard models
 * the reference used (gym's half_cheetah.xml, ant.xml, walker2d.xml, humanoid.xml; rand_param_envs'
 * hopper.xml and walker2d.xml): body sizes, joint ranges and axes, armature, damping, stiffness,
 * gears, ctrl ranges, friction, densities, contact parameters, integrator and timestep.
 *
 * Differences in form only: the walker and hopper were written in MuJoCo 1.5's global coordinates;
 * here every body, joint and geom is local to its parent (MuJoCo 3 has no global mode), with each
 * body's frame at its joint. Geometry, hence masses and inertias (inertiafromgeom), is unchanged.
 * Visual-only elements (textures, materials, lights, cameras, rgba) are left out.
 */

/** HalfCheetah (gym half_cheetah.xml): 9 DoF planar, 6 motors, timestep 0.01, total mass 14. */
export const HALF_CHEETAH_XML = `<mujoco model="half_cheetah">
  <compiler angle="radian" inertiafromgeom="true" settotalmass="14"/>
  <option gravity="0 0 -9.81" timestep="0.01"/>
  <default>
    <joint limited="true" armature="0.1" damping="0.01" stiffness="8" solreflimit="0.02 1" solimplimit="0 0.8 0.03"/>
    <geom contype="1" conaffinity="0" condim="3" friction="0.4 0.1 0.1" solref="0.02 1" solimp="0 0.8 0.01"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="40 40 40" conaffinity="1" condim="3"/>
    <body name="torso" pos="0 0 0.7">
      <joint name="rootx" type="slide" axis="1 0 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="torso" type="capsule" fromto="-0.5 0 0 0.5 0 0" size="0.046"/>
      <geom name="head" type="capsule" pos="0.6 0 0.1" axisangle="0 1 0 0.87" size="0.046 0.15"/>
      <body name="bthigh" pos="-0.5 0 0">
        <joint name="bthigh" type="hinge" axis="0 1 0" range="-0.52 1.05" stiffness="240" damping="6"/>
        <geom name="bthigh" type="capsule" pos="0.1 0 -0.13" axisangle="0 1 0 -3.8" size="0.046 0.145"/>
        <body name="bshin" pos="0.16 0 -0.25">
          <joint name="bshin" type="hinge" axis="0 1 0" range="-0.785 0.785" stiffness="180" damping="4.5"/>
          <geom name="bshin" type="capsule" pos="-0.14 0 -0.07" axisangle="0 1 0 -2.03" size="0.046 0.15"/>
          <body name="bfoot" pos="-0.28 0 -0.14">
            <joint name="bfoot" type="hinge" axis="0 1 0" range="-0.4 0.785" stiffness="120" damping="3"/>
            <geom name="bfoot" type="capsule" pos="0.03 0 -0.097" axisangle="0 1 0 -0.27" size="0.046 0.094"/>
          </body>
        </body>
      </body>
      <body name="fthigh" pos="0.5 0 0">
        <joint name="fthigh" type="hinge" axis="0 1 0" range="-1 0.7" stiffness="180" damping="4.5"/>
        <geom name="fthigh" type="capsule" pos="-0.07 0 -0.12" axisangle="0 1 0 0.52" size="0.046 0.133"/>
        <body name="fshin" pos="-0.14 0 -0.24">
          <joint name="fshin" type="hinge" axis="0 1 0" range="-1.2 0.87" stiffness="120" damping="3"/>
          <geom name="fshin" type="capsule" pos="0.065 0 -0.09" axisangle="0 1 0 -0.6" size="0.046 0.106"/>
          <body name="ffoot" pos="0.13 0 -0.18">
            <joint name="ffoot" type="hinge" axis="0 1 0" range="-0.5 0.5" stiffness="60" damping="1.5"/>
            <geom name="ffoot" type="capsule" pos="0.045 0 -0.07" axisangle="0 1 0 -0.6" size="0.046 0.07"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="bthigh" joint="bthigh" gear="120"/>
    <motor name="bshin" joint="bshin" gear="90"/>
    <motor name="bfoot" joint="bfoot" gear="60"/>
    <motor name="fthigh" joint="fthigh" gear="120"/>
    <motor name="fshin" joint="fshin" gear="60"/>
    <motor name="ffoot" joint="ffoot" gear="30"/>
  </actuator>
</mujoco>
`;

/** One ant leg: hip (about z, ±30°) and ankle; `dx, dy` the leg's direction, ankle axis and range. */
function antLeg(name: string, n: number, dx: number, dy: number, ankleAxis: string, ankleRange: string, legGeom: string, ankleGeom: string): string {
  const p = (s: number): string => `${0.2 * dx * s} ${0.2 * dy * s} 0`;
  return `      <body name="${name}" pos="0 0 0">
        <geom name="aux_${n}_geom" type="capsule" fromto="0 0 0 ${p(1)}" size="0.08"/>
        <body name="aux_${n}" pos="${p(1)}">
          <joint name="hip_${n}" type="hinge" pos="0 0 0" axis="0 0 1" range="-30 30"/>
          <geom name="${legGeom}" type="capsule" fromto="0 0 0 ${p(1)}" size="0.08"/>
          <body name="${name}_foot" pos="${p(1)}">
            <joint name="ankle_${n}" type="hinge" pos="0 0 0" axis="${ankleAxis}" range="${ankleRange}"/>
            <geom name="${ankleGeom}" type="capsule" fromto="0 0 0 ${p(2)}" size="0.08"/>
          </body>
        </body>
      </body>
`;
}

/** Ant (gym ant.xml): free torso sphere r 0.25 and four 3-segment legs, 8 motors gear 150, RK4, timestep 0.01. */
export const ANT_XML = `<mujoco model="ant">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.01"/>
  <default>
    <joint limited="true" armature="1" damping="1"/>
    <geom condim="3" conaffinity="0" density="5" friction="1 0.5 0.5" margin="0.01"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="40 40 40" conaffinity="1" condim="3"/>
    <body name="torso" pos="0 0 0.75">
      <geom name="torso_geom" type="sphere" pos="0 0 0" size="0.25"/>
      <joint name="root" type="free" limited="false" armature="0" damping="0" margin="0.01"/>
${antLeg('front_left_leg', 1, 1, 1, '-1 1 0', '30 70', 'left_leg_geom', 'left_ankle_geom')}${antLeg('front_right_leg', 2, -1, 1, '1 1 0', '-70 -30', 'right_leg_geom', 'right_ankle_geom')}${antLeg('back_leg', 3, -1, -1, '-1 1 0', '-70 -30', 'back_leg_geom', 'third_ankle_geom')}${antLeg('right_back_leg', 4, 1, -1, '1 1 0', '30 70', 'rightback_leg_geom', 'fourth_ankle_geom')}    </body>
  </worldbody>
  <actuator>
    <motor joint="hip_4" gear="150"/>
    <motor joint="ankle_4" gear="150"/>
    <motor joint="hip_1" gear="150"/>
    <motor joint="ankle_1" gear="150"/>
    <motor joint="hip_2" gear="150"/>
    <motor joint="ankle_2" gear="150"/>
    <motor joint="hip_3" gear="150"/>
    <motor joint="ankle_3" gear="150"/>
  </actuator>
</mujoco>
`;

/** The planar root of the walker and hopper: x slide, z slide (ref 1.25 so qpos[1] is the height), y hinge. */
const PLANAR_ROOT = `      <joint name="rootx" type="slide" axis="1 0 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" ref="1.25" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="torso_geom" type="capsule" fromto="0 0 0.2 0 0 -0.2" size="0.05" friction="0.9"/>
`;

/** One walker leg below the torso (torso at height 1.25): thigh 0.45, leg 0.5, foot 0.2 long. */
function walkerLeg(suffix: string, footFriction: number): string {
  return `      <body name="thigh${suffix}" pos="0 0 -0.2">
        <joint name="thigh${suffix}_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh${suffix}_geom" type="capsule" fromto="0 0 0 0 0 -0.45" size="0.05" friction="0.9"/>
        <body name="leg${suffix}" pos="0 0 -0.45">
          <joint name="leg${suffix}_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
          <geom name="leg${suffix}_geom" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04" friction="0.9"/>
          <body name="foot${suffix}" pos="0 0 -0.5">
            <joint name="foot${suffix}_joint" type="hinge" axis="0 -1 0" range="-45 45"/>
            <geom name="foot${suffix}_geom" type="capsule" fromto="0 0 0 0.2 0 0" size="0.06" friction="${footFriction}"/>
          </body>
        </body>
      </body>
`;
}

/**
 * Walker2d (gym walker2d.xml): planar biped, 6 motors gear 100, RK4. `timestep` is 0.002 in gym (used
 * by the fwd-back task) and 0.004 in rand_param_envs (used by the RandParams task).
 */
export function walker2dXml(timestep: number): string {
  return `<mujoco model="walker2d">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="${timestep}"/>
  <default>
    <joint limited="true" armature="0.01" damping="0.1"/>
    <geom contype="1" conaffinity="0" condim="3" density="1000" friction="0.7 0.1 0.1"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="40 40 40" conaffinity="1" condim="3"/>
    <body name="torso" pos="0 0 1.25">
${PLANAR_ROOT}${walkerLeg('', 0.9)}${walkerLeg('_left', 1.9)}    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="leg_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="foot_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="thigh_left_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="leg_left_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
    <motor joint="foot_left_joint" gear="100" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
`;
}

/** Hopper (rand_param_envs hopper.xml): planar one-legged, 3 motors gear 200, RK4, timestep 0.004. */
export const HOPPER_XML = `<mujoco model="hopper">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.004"/>
  <default>
    <joint limited="true" armature="1" damping="1"/>
    <geom contype="1" conaffinity="1" condim="1" margin="0.001" solref="0.02 1" solimp="0.8 0.8 0.01"/>
    <motor ctrllimited="true" ctrlrange="-0.4 0.4"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="20 20 0.125" conaffinity="1" condim="3"/>
    <body name="torso" pos="0 0 1.25">
${PLANAR_ROOT}      <body name="thigh" pos="0 0 -0.2">
        <joint name="thigh_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh_geom" type="capsule" fromto="0 0 0 0 0 -0.45" size="0.05" friction="0.9"/>
        <body name="leg" pos="0 0 -0.45">
          <joint name="leg_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
          <geom name="leg_geom" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04" friction="0.9"/>
          <body name="foot" pos="0 0 -0.5">
            <joint name="foot_joint" type="hinge" axis="0 -1 0" range="-45 45"/>
            <geom name="foot_geom" type="capsule" fromto="-0.13 0 0 0.26 0 0" size="0.06" friction="2.0"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint" gear="200" ctrlrange="-1 1"/>
    <motor joint="leg_joint" gear="200" ctrlrange="-1 1"/>
    <motor joint="foot_joint" gear="200" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
`;

/** One humanoid leg (side +1 left, −1 right). */
function humanoidLeg(side: 'left' | 'right'): string {
  const s = side === 'left' ? 1 : -1;
  const xAxis = side === 'left' ? '-1 0 0' : '1 0 0';
  const zAxis = side === 'left' ? '0 0 -1' : '0 0 1';
  const hipYArmature = side === 'left' ? '0.01' : '0.008';
  const kneeStiffness = side === 'left' ? ' stiffness="1"' : '';
  return `          <body name="${side}_thigh" pos="0 ${0.1 * s} -0.04">
            <joint name="${side}_hip_x" type="hinge" pos="0 0 0" axis="${xAxis}" range="-25 5" armature="0.01" damping="5" stiffness="10"/>
            <joint name="${side}_hip_z" type="hinge" pos="0 0 0" axis="${zAxis}" range="-60 35" armature="0.01" damping="5" stiffness="10"/>
            <joint name="${side}_hip_y" type="hinge" pos="0 0 0" axis="0 1 0" range="-110 20" armature="${hipYArmature}" damping="5" stiffness="20"/>
            <geom name="${side}_thigh1" type="capsule" fromto="0 0 0 0 ${-0.01 * s} -0.34" size="0.06"/>
            <body name="${side}_shin" pos="0 ${-0.01 * s} -0.403">
              <joint name="${side}_knee" type="hinge" pos="0 0 0.02" axis="0 -1 0" range="-160 -2" armature="0.006"${kneeStiffness}/>
              <geom name="${side}_shin1" type="capsule" fromto="0 0 0 0 0 -0.3" size="0.049"/>
              <body name="${side}_foot" pos="0 0 -0.45">
                <geom name="${side}_foot" type="sphere" pos="0 0 0.1" size="0.075"/>
              </body>
            </body>
          </body>
`;
}

/** One humanoid arm (side +1 left, −1 right). */
function humanoidArm(side: 'left' | 'right'): string {
  const s = side === 'left' ? 1 : -1;
  const sh1 = side === 'left' ? '2 -1 1' : '2 1 1';
  const sh2 = side === 'left' ? '0 1 1' : '0 -1 1';
  const range = side === 'left' ? '-60 85' : '-85 60';
  const elbow = side === 'left' ? '0 -1 -1' : '0 -1 1';
  return `      <body name="${side}_upper_arm" pos="0 ${0.17 * s} 0.06">
        <joint name="${side}_shoulder1" type="hinge" pos="0 0 0" axis="${sh1}" range="${range}" armature="0.0068" stiffness="1"/>
        <joint name="${side}_shoulder2" type="hinge" pos="0 0 0" axis="${sh2}" range="${range}" armature="0.0051" stiffness="1"/>
        <geom name="${side}_uarm1" type="capsule" fromto="0 0 0 0.16 ${0.16 * s} -0.16" size="0.04 0.16"/>
        <body name="${side}_lower_arm" pos="0.18 ${0.18 * s} -0.18">
          <joint name="${side}_elbow" type="hinge" pos="0 0 0" axis="${elbow}" range="-90 50" armature="0.0028" stiffness="0"/>
          <geom name="${side}_larm" type="capsule" fromto="0.01 ${0.01 * s} 0.01 0.17 ${0.17 * s} 0.17" size="0.031"/>
          <geom name="${side}_hand" type="sphere" pos="0.18 ${0.18 * s} 0.18" size="0.04"/>
        </body>
      </body>
`;
}

/** Humanoid (gym humanoid.xml): free torso, 21 hinge DoF, 17 motors, RK4 with PGS (50 iterations), timestep 0.003. */
export const HUMANOID_XML = `<mujoco model="humanoid">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" solver="PGS" iterations="50" timestep="0.003"/>
  <default>
    <joint limited="true" armature="1" damping="1"/>
    <geom contype="1" conaffinity="1" condim="1" margin="0.001"/>
    <motor ctrllimited="true" ctrlrange="-0.4 0.4"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="20 20 0.125" condim="3" friction="1 0.1 0.1"/>
    <body name="torso" pos="0 0 1.4">
      <joint name="root" type="free" pos="0 0 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="torso1" type="capsule" fromto="0 -0.07 0 0 0.07 0" size="0.07"/>
      <geom name="head" type="sphere" pos="0 0 0.19" size="0.09"/>
      <geom name="uwaist" type="capsule" fromto="-0.01 -0.06 -0.12 -0.01 0.06 -0.12" size="0.06"/>
      <body name="lwaist" pos="-0.01 0 -0.26" quat="1 0 -0.002 0">
        <geom name="lwaist" type="capsule" fromto="0 -0.06 0 0 0.06 0" size="0.06"/>
        <joint name="abdomen_z" type="hinge" pos="0 0 0.065" axis="0 0 1" range="-45 45" armature="0.02" damping="5" stiffness="20"/>
        <joint name="abdomen_y" type="hinge" pos="0 0 0.065" axis="0 1 0" range="-75 30" armature="0.02" damping="5" stiffness="10"/>
        <body name="pelvis" pos="0 0 -0.165" quat="1 0 -0.002 0">
          <joint name="abdomen_x" type="hinge" pos="0 0 0.1" axis="1 0 0" range="-35 35" armature="0.02" damping="5" stiffness="10"/>
          <geom name="butt" type="capsule" fromto="-0.02 -0.07 0 -0.02 0.07 0" size="0.09"/>
${humanoidLeg('right')}${humanoidLeg('left')}        </body>
      </body>
${humanoidArm('right')}${humanoidArm('left')}    </body>
  </worldbody>
  <tendon>
    <fixed name="left_hipknee">
      <joint joint="left_hip_y" coef="-1"/>
      <joint joint="left_knee" coef="1"/>
    </fixed>
    <fixed name="right_hipknee">
      <joint joint="right_hip_y" coef="-1"/>
      <joint joint="right_knee" coef="1"/>
    </fixed>
  </tendon>
  <actuator>
    <motor name="abdomen_y" joint="abdomen_y" gear="100"/>
    <motor name="abdomen_z" joint="abdomen_z" gear="100"/>
    <motor name="abdomen_x" joint="abdomen_x" gear="100"/>
    <motor name="right_hip_x" joint="right_hip_x" gear="100"/>
    <motor name="right_hip_z" joint="right_hip_z" gear="100"/>
    <motor name="right_hip_y" joint="right_hip_y" gear="300"/>
    <motor name="right_knee" joint="right_knee" gear="200"/>
    <motor name="left_hip_x" joint="left_hip_x" gear="100"/>
    <motor name="left_hip_z" joint="left_hip_z" gear="100"/>
    <motor name="left_hip_y" joint="left_hip_y" gear="300"/>
    <motor name="left_knee" joint="left_knee" gear="200"/>
    <motor name="right_shoulder1" joint="right_shoulder1" gear="25"/>
    <motor name="right_shoulder2" joint="right_shoulder2" gear="25"/>
    <motor name="right_elbow" joint="right_elbow" gear="25"/>
    <motor name="left_shoulder1" joint="left_shoulder1" gear="25"/>
    <motor name="left_shoulder2" joint="left_shoulder2" gear="25"/>
    <motor name="left_elbow" joint="left_elbow" gear="25"/>
  </actuator>
</mujoco>
`;
